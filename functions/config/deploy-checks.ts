/**
 * What a deployed stack needs beyond what the schema checks (`cdk synth`/`deploy` only: the sandbox
 * and tests may run a config that maps nothing). A real plant must enable at least one flow, and a
 * downtime flow must map at least one machine: with an empty `machines` map (and unmapped machines
 * skipped) it deploys a poller that can never do anything, which looks like a working flow.
 */
import { ConfigError } from '../core/errors.ts';
import type { Deployment } from './deployment.ts';

export interface DeployProblem {
  path: string;
  message: string;
}

export function deployProblems(deployment: Deployment): DeployProblem[] {
  const problems: DeployProblem[] = [];
  if (deployment.enabled.length === 0) {
    problems.push({ path: 'flows', message: 'a deployment must enable at least one flow' });
  }
  for (const { flow, config } of deployment.enabled) {
    const c = config as { machines?: Record<string, unknown>; unmappedMachines?: string };
    // The downtime flows key their mapping by `machines`; `default-asset` sends unmapped ones somewhere.
    if (
      c.machines !== undefined &&
      Object.keys(c.machines).length === 0 &&
      c.unmappedMachines !== 'default-asset'
    ) {
      problems.push({
        path: `flows.${flow.id}.machines`,
        message:
          'an enabled flow must map at least one machine (MachineMetrics machine UUID -> target); list them with `npx millwright discover machinemetrics`',
      });
    }
  }
  return problems;
}

const PLACEHOLDER_MAIL_DOMAIN = /@example\.(com|org|net)$/i;

/**
 * What deploys but is likely not what the plant wants: warned about at synth, not refused. Without
 * `alarms.emails` or `alarms.topicArn` the stack creates a topic nobody is subscribed to, so every
 * alarm fires silently.
 */
export function deployWarnings(deployment: Deployment): DeployProblem[] {
  const { topicArn, emails } = deployment.alarms;
  // An address at a domain reserved for documentation (RFC 2606), e.g. config/example-plant.json's
  // placeholder left in a copy: its alarm mails go nowhere.
  const placeholders = (emails ?? []).flatMap((email, i) =>
    PLACEHOLDER_MAIL_DOMAIN.test(email)
      ? [
          {
            path: `alarms.emails[${i}]`,
            message: `${email} is a placeholder address: alarm mails to it reach nobody; put the address of the person or list on call`,
          },
        ]
      : [],
  );
  if (topicArn !== undefined || (emails ?? []).length > 0) return placeholders;
  return [
    {
      path: 'alarms.emails',
      message:
        'no alarm reaches a person: the stack creates an alarm topic with no subscriber; name an e-mail in alarms.emails or an existing topic in alarms.topicArn (or subscribe to the created topic yourself)',
    },
  ];
}

/** Throws a ConfigError naming every path a deployment still lacks. */
export function checkDeployable(deployment: Deployment, source: string): void {
  const problems = deployProblems(deployment);
  const [first] = problems;
  if (first) throw new ConfigError(first.path, first.message, { source, problems });
}
