/** A hint's command must reach the same sandbox or stack as the command that printed it. */
import { describe, expect, it } from '@jest/globals';
import { targetFlags } from '../../../cli/commands/secrets.ts';

describe('targetFlags (the target options repeated in printed hints)', () => {
  it('repeats --sandbox <dir>, --stack and --region as given, and nothing by default', () => {
    expect(targetFlags({})).toBe('');
    expect(targetFlags({ sandbox: '/tmp/plant-a' })).toBe('--sandbox /tmp/plant-a ');
    expect(targetFlags({ sandbox: true })).toBe('--sandbox ');
    expect(targetFlags({ stack: 'Millwright', region: 'eu-west-1' })).toBe(
      '--stack Millwright --region eu-west-1 ',
    );
  });
});
