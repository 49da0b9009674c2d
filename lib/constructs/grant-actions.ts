/**
 * The one way mlship's grant methods add a statement to a grantee's policy: a set of actions from
 * perms.ts on exact resources, optionally with conditions.
 */
import * as iam from 'aws-cdk-lib/aws-iam';

export function grantActions(
  grantee: iam.IGrantable,
  actions: readonly string[],
  resourceArns: string[],
  conditions?: Record<string, Record<string, unknown>>,
): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns, conditions });
}
