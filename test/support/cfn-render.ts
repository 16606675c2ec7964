/**
 * Renders CloudFormation values (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, ...) as the strings they become
 * once deployed, with realistic, on-the-long-side lengths: limits that only bite after deployment
 * (Lambda's 4 KB of environment, IAM policy sizes) can then be checked on a synthesized template.
 * An intrinsic it does not know throws, so a check can never pass by under-counting.
 */

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

/** Long variants of the pseudo parameters (a long region, the China URL suffix, GovCloud). */
const PSEUDO: Record<string, string> = {
  'AWS::Region': 'ap-southeast-2',
  'AWS::URLSuffix': 'amazonaws.com.cn',
  'AWS::AccountId': '123456789012',
  'AWS::Partition': 'aws-us-gov',
  'AWS::NoValue': '',
};

export class TemplateRenderer {
  constructor(
    private readonly resources: Record<string, CfnResource>,
    private readonly stackName = 'MillwrightPlantAProduction',
  ) {}

  /** A CloudFormation-generated physical name: `<stack>-<logical id>-<13 random characters>`. */
  private physicalName(logicalId: string, max = 128): string {
    const head = `${this.stackName}-${logicalId}`.slice(0, max - 14);
    return `${head}-ABCDEFGHIJKLM`;
  }

  private resource(logicalId: string): CfnResource {
    const resource = this.resources[logicalId];
    if (!resource) throw new Error(`no resource ${logicalId} in the template`);
    return resource;
  }

  private queueName(logicalId: string): string {
    const named = this.resource(logicalId).Properties?.QueueName;
    return named === undefined ? this.physicalName(logicalId, 80) : this.render(named);
  }

  private ref(logicalId: string): string {
    const pseudo = PSEUDO[logicalId];
    if (pseudo !== undefined) return pseudo;
    const { Type } = this.resource(logicalId);
    if (Type === 'AWS::SQS::Queue') {
      return `https://sqs.${PSEUDO['AWS::Region']}.${PSEUDO['AWS::URLSuffix']}/${PSEUDO['AWS::AccountId']}/${this.queueName(logicalId)}`;
    }
    if (Type === 'AWS::SNS::Topic') return this.arn('sns', this.physicalName(logicalId, 256));
    return this.physicalName(logicalId, Type === 'AWS::Lambda::Function' ? 64 : 128);
  }

  private arn(service: string, resource: string): string {
    return `arn:${PSEUDO['AWS::Partition']}:${service}:${PSEUDO['AWS::Region']}:${PSEUDO['AWS::AccountId']}:${resource}`;
  }

  private getAtt(logicalId: string, attribute: string): string {
    const { Type } = this.resource(logicalId);
    const name = this.physicalName(logicalId);
    if (Type === 'AWS::SQS::Queue') {
      if (attribute === 'Arn') return this.arn('sqs', this.queueName(logicalId));
      if (attribute === 'QueueUrl') return this.ref(logicalId);
      if (attribute === 'QueueName') return this.queueName(logicalId);
    }
    if (attribute === 'Arn') {
      const [service = 'unknown', kind = 'resource'] = Type.replace(/^AWS::/, '')
        .toLowerCase()
        .split('::');
      return this.arn(service, `${kind}/${name}`);
    }
    return name;
  }

  render(value: unknown): string {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new Error(`cannot render ${JSON.stringify(value)}`);
    }
    const entries = Object.entries(value);
    const [fn, arg] = entries[0] ?? [];
    if (entries.length !== 1 || fn === undefined)
      throw new Error(`not an intrinsic: ${JSON.stringify(value)}`);
    switch (fn) {
      case 'Ref':
        return this.ref(String(arg));
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
        return this.getAtt(String(id), String(attribute));
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        return parts.map((p) => this.render(p)).join(separator);
      }
      case 'Fn::Sub': {
        const [text, vars = {}] = (Array.isArray(arg) ? arg : [arg]) as [string, Record<string, unknown>?];
        return text.replace(/\$\{([^}]+)\}/g, (_, name: string) =>
          name in vars
            ? this.render(vars[name])
            : name.includes('.')
              ? this.render({ 'Fn::GetAtt': name.split('.') })
              : this.render({ Ref: name }),
        );
      }
      case 'Fn::Select': {
        const [index, list] = arg as [number, unknown];
        const items = Array.isArray(list) ? list.map((i) => this.render(i)) : this.renderList(list);
        return items[Number(index)] ?? '';
      }
      default:
        throw new Error(`cannot render intrinsic ${fn}`);
    }
  }

  private renderList(value: unknown): string[] {
    const split = (value as { 'Fn::Split'?: [string, unknown] })['Fn::Split'];
    if (!split) throw new Error(`cannot render a list from ${JSON.stringify(value)}`);
    return this.render(split[1]).split(split[0]);
  }

  /** A function's environment variables as deployed: name -> value. */
  environment(fn: CfnResource): Record<string, string> {
    const variables = (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    return Object.fromEntries(Object.entries(variables ?? {}).map(([k, v]) => [k, this.render(v)]));
  }
}

/** Bytes of an environment as Lambda counts them (names and values); JSON adds a little on top. */
export const environmentBytes = (env: Record<string, string>): number =>
  Buffer.byteLength(JSON.stringify(env), 'utf8');
