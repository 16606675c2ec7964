/**
 * One template for a stack and its nested stacks, as if they were one: nested resources join the
 * root's, each nested parameter is replaced by what the root passes in, and each reference to a
 * nested output by the output's value. Assertions can then follow a Ref from the ingress to a
 * flow's queue, or from a worker to the table, across stack boundaries.
 */
import { type CfnElement, NestedStack, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties?: Json;
}
interface TemplateJson {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown }>;
}

/** Replace every `{ Ref: name }` / `{ Fn::GetAtt: [id, attr] }` that `replace` answers for. */
function substitute(value: unknown, replace: (node: Json) => unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => substitute(v, replace));
  if (value === null || typeof value !== 'object') return value;
  const replaced = replace(value as Json);
  if (replaced !== undefined) return substitute(replaced, replace);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, replace)]));
}

export function flatTemplate(stack: Stack): TemplateJson {
  const root = Template.fromStack(stack).toJSON() as TemplateJson;
  const resources: Record<string, Resource> = { ...root.Resources };
  const outputsOf = new Map<string, Record<string, { Value: unknown }>>();

  for (const nested of stack.node.findAll().filter(NestedStack.isNestedStack)) {
    const resourceId = stack.getLogicalId(nested.nestedStackResource as CfnElement);
    const passed = (root.Resources[resourceId]?.Properties?.Parameters ?? {}) as Json;
    const fromParameters = (node: Json) =>
      typeof node.Ref === 'string' && node.Ref in passed ? passed[node.Ref] : undefined;
    const template = substitute(Template.fromStack(nested).toJSON(), fromParameters) as TemplateJson;
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (id in resources) throw new Error(`logical id ${id} is used by two stacks`);
      resources[id] = resource;
    }
    outputsOf.set(resourceId, template.Outputs ?? {});
    delete resources[resourceId];
  }

  const fromOutputs = (node: Json) => {
    const att = node['Fn::GetAtt'] as [string, string] | undefined;
    if (!att || !outputsOf.has(att[0]) || !att[1].startsWith('Outputs.')) return undefined;
    const output = outputsOf.get(att[0])?.[att[1].slice('Outputs.'.length)];
    if (!output) throw new Error(`no output ${att[1]} in nested stack ${att[0]}`);
    return output.Value;
  };
  return {
    Resources: substitute(resources, fromOutputs) as Record<string, Resource>,
    Outputs: substitute(root.Outputs ?? {}, fromOutputs) as Record<string, { Value: unknown }>,
  };
}
