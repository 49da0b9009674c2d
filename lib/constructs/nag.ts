/**
 * cdk-nag acknowledgements that name a resource ARN. The finding id holds the ARN as cdk-nag renders it
 * from the template (`<LogicalId.Arn>/prefix/*`, `<export name>/prefix/*`), so it is computed from the
 * same token when the tree is validated, never written out by hand from a logical id.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { Construct } from 'constructs';

/** Acknowledges, on `scope` and below, the AwsSolutions-IAM5 finding for a wildcard resource ARN (`arn` may hold tokens). */
export function acknowledgeWildcardResource(scope: Construct, arn: string, reason: string): void {
  scope.node.addValidation({
    validate: () => {
      const resource = flattenCfnReference(Stack.of(scope).resolve(arn));
      Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
      return [];
    },
  });
}
