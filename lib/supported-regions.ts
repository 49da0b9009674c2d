/**
 * Regions mlship is checked against: every service it uses (ECS native blue/green, SageMaker real-time
 * and serverless inference, Batch Transform, API Gateway REST, Step Functions) exists in each, and the
 * tests run cfn-lint over every synthesized template with this list.
 */
export const SUPPORTED_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-2',
  'eu-west-1',
  'eu-central-1',
  'ap-northeast-1',
  'ap-southeast-2',
] as const;
