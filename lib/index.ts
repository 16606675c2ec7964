/**
 * What a user's own CDK app imports (package.json `exports`): the Millwright construct, the stack
 * that wraps it, and the deployment config's type, schema-checked loader and flow registry.
 *
 *   const deployment = loadDeployment('config/plant.json', flows);
 *   new Millwright(this, 'Plant', { deployment });
 */
export {
  type Deployment,
  type DeploymentInput,
  deploymentSchema,
  loadDeployment,
  validateDeployment,
} from '../functions/config/deployment.ts';
export { ConfigError } from '../functions/core/errors.ts';
export { flows } from '../functions/flows/index.ts';
export { buildApp } from './app.ts';
export { Millwright, type MillwrightProps } from './millwright.ts';
export { MillwrightStack, type MillwrightStackProps } from './stack.ts';
