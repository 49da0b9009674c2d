/**
 * AWS's prebuilt scikit-learn training images: `<account>.dkr.ecr.<region>.<domain>/sagemaker-scikit-learn:<version>-cpu-py3`.
 * The registry account of each region, as the SageMaker Python SDK lists them (image_uri_config/sklearn.json,
 * "training", version 1.2-1 — the scikit-learn the example models are trained with).
 */
export const SKLEARN_IMAGE_VERSION = '1.2-1';
export const SKLEARN_REPOSITORY = 'sagemaker-scikit-learn';

export const SKLEARN_TRAINING_ACCOUNTS: Readonly<Record<string, string>> = Object.freeze({
  'af-south-1': '510948584623',
  'ap-east-1': '651117190479',
  'ap-northeast-1': '354813040037',
  'ap-northeast-2': '366743142698',
  'ap-northeast-3': '867004704886',
  'ap-south-1': '720646828776',
  'ap-south-2': '628508329040',
  'ap-southeast-1': '121021644041',
  'ap-southeast-2': '783357654285',
  'ap-southeast-3': '951798379941',
  'ap-southeast-4': '106583098589',
  'ca-central-1': '341280168497',
  'cn-north-1': '450853457545',
  'cn-northwest-1': '451049120500',
  'eu-central-1': '492215442770',
  'eu-central-2': '680994064768',
  'eu-north-1': '662702820516',
  'eu-west-1': '141502667606',
  'eu-west-2': '764974769150',
  'eu-west-3': '659782779980',
  'eu-south-1': '978288397137',
  'eu-south-2': '104374241257',
  'me-south-1': '801668240914',
  'me-central-1': '272398656194',
  'sa-east-1': '737474898029',
  'us-east-1': '683313688378',
  'us-east-2': '257758044811',
  'us-gov-west-1': '414596584902',
  'us-gov-east-1': '237065988967',
  'us-west-1': '746614075791',
  'us-west-2': '246618743249',
});
