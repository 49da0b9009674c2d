/**
 * The cdk-nag IAM5 (wildcard) findings the batch construct accepts. Each accepted shape is listed with
 * its reason; any other wildcard in the construct stays a finding. The findings name resolved ARNs
 * (logical ids included), so they are computed from the synthesized policies when the tree is validated.
 */
import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { Construct, IConstruct } from 'constructs';
import { modelPrefix, PREFIX } from '../../contract/bucket';

interface Accepted {
  readonly finding: RegExp;
  readonly reason: string;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The Fargate batch task: its task definition and the model whose packages it reads. */
export interface BatchTaskFindings {
  /** The batch task definition (its family is in the RunTask grant). */
  readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The served model: the task reads its packages. */
  readonly modelName: string;
}

function acceptedShapes(scope: Construct, task?: BatchTaskFindings): Accepted[] {
  const prefixes = [PREFIX.batchInput, PREFIX.batchOutput].map(escapeRegExp).join('|');
  const shapes: Accepted[] = [
    {
      finding: new RegExp(`^Resource::.+/(${prefixes})\\*$`),
      reason: 'Object rights on exactly one key prefix of the data bucket (batch/input/ read, batch/output/ write).',
    },
    {
      finding: /^Resource::\*$/,
      reason:
        'Only actions without resource-level permissions: X-Ray segments and sampling, CloudWatch Logs delivery for the state machine, ecs:DescribeTasks/StopTask, ecr:GetAuthorizationToken, sagemaker:ListTags, and cloudwatch:PutMetricData limited to the TransformJobs namespace by a condition.',
    },
    {
      finding:
        /^Resource::arn:<AWS::Partition>:logs:(<AWS::Region>|[a-z0-9-]+):(<AWS::AccountId>|\d+):log-group:\/aws\/sagemaker\/TransformJobs:log-stream:batch-\*$/,
      reason:
        "Log streams of this construct's transform jobs (batch-<execution name>/<instance>) in SageMaker's one TransformJobs log group.",
    },
    {
      // Region and account are tokens (`<AWS::Region>`) in an environment-agnostic stack, literals otherwise.
      finding: /^Resource::arn:<AWS::Partition>:sagemaker:(<AWS::Region>|[a-z0-9-]+):(<AWS::AccountId>|\d+):transform-job\/\*$/,
      reason:
        'Transform jobs are named per execution (batch-<execution name>); the state machine may only create, describe, stop and tag them.',
    },
  ];
  if (task) {
    const model = modelPrefix(task.modelName);
    shapes.push({
      finding: new RegExp(`^Resource::.+/${escapeRegExp(model)}\\*$`),
      reason: `The task reads the served model's packages only: every version under ${model} (a run started before a deployment still loads its own), no other model.`,
    });
    const logicalId = Stack.of(scope).getLogicalId(task.taskDefinition.node.defaultChild as CfnElement);
    shapes.push({
      finding: new RegExp(`^Resource::.*${escapeRegExp(logicalId)}.*:\\*$`),
      reason: 'ecs:RunTask on any revision of the batch task definition family this construct owns.',
    });
  }
  return shapes;
}

/** At validation time, acknowledges each IAM5 finding of the construct's policies that matches an accepted shape. */
export function acknowledgeIamWildcards(scope: Construct, task?: BatchTaskFindings): void {
  scope.node.addValidation({
    validate: () => {
      const shapes = acceptedShapes(scope, task);
      for (const policy of scope.node.findAll().filter((c: IConstruct): c is iam.CfnPolicy => c instanceof iam.CfnPolicy)) {
        const doc = Stack.of(policy).resolve(policy.policyDocument) as { Statement?: { Effect: string; Resource: unknown }[] };
        for (const st of doc.Statement ?? []) {
          if (st.Effect !== 'Allow') continue;
          for (const r of Array.isArray(st.Resource) ? st.Resource : [st.Resource]) {
            const finding = `Resource::${flattenCfnReference(r)}`;
            if (!finding.includes('*')) continue;
            const shape = shapes.find((s) => s.finding.test(finding));
            if (shape) Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: shape.reason });
          }
        }
      }
      return [];
    },
  });
}
