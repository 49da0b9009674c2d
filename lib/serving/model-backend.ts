/** What the API stack needs from a serving backend, whichever it is. */
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { EnvName } from '../../contract/env';
import type { Backend } from '../../contract/limits';

export interface ModelBackend {
  readonly backend: Backend;
  /** Variables the predict function needs to reach the model (`MLSHIP_MODEL_URL` or `MLSHIP_SAGEMAKER_ENDPOINT`). */
  readonly clientEnvironment: Partial<Record<EnvName, string>>;
  /** Where the predict function must run to reach the model. @default - outside any VPC */
  readonly clientVpc?: ec2.IVpc;
  /** Security groups that the model accepts traffic from. */
  readonly clientSecurityGroups?: ec2.ISecurityGroup[];
  /**
   * Lets `grantee` call the model, and nothing else: an IAM permission on one SageMaker endpoint, or
   * nothing for Fargate, whose load balancer is reached through `clientSecurityGroups` instead.
   */
  grantInvoke(grantee: iam.IGrantable): void;
}
