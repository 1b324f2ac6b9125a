// The subset of the Core ML protobuf schema (Model, FeatureTypes, NeuralNetwork, MIL) the reader needs,
// written from the field numbers in ../shared/docs/coreml-format.md §1. What analysis never reads is left
// out on purpose: protobufjs skips unknown fields by advancing its cursor, so weight arrays (WeightParams,
// packed floats of inline NeuralNetwork weights) are never decoded or copied. That skipping is what makes
// reading a spec cheaper than a full decode.
import protobuf from 'protobufjs';

/**
 * Every NeuralNetworkLayer oneof entry: layer type → field number. Layers whose parameters we read get a
 * params message below (LAYER_PARAMS); the rest are declared as `bytes`, which protobufjs returns as a
 * view into the input (no decode), so the reader still learns the layer type.
 */
export const NN_LAYER_FIELDS: Record<string, number> = Object.fromEntries(
  `convolution=100 pooling=120 activation=130 innerProduct=140 embedding=150 batchnorm=160 mvn=165 l2normalize=170
  softmax=175 lrn=180 crop=190 padding=200 upsample=210 resizeBilinear=211 cropResize=212 unary=220 add=230
  multiply=231 average=240 scale=245 bias=250 max=260 min=261 dot=270 reduce=280 loadConstant=290 reshape=300
  flatten=301 permute=310 concat=320 split=330 sequenceRepeat=340 reorganizeData=345 slice=350
  simpleRecurrent=400 gru=410 uniDirectionalLSTM=420 biDirectionalLSTM=430 custom=500 copy=600 branch=605
  loop=615 loopBreak=620 loopContinue=625 rangeStatic=635 rangeDynamic=640 clip=660 ceil=665 floor=670 sign=680
  round=685 exp2=700 sin=710 cos=715 tan=720 asin=730 acos=735 atan=740 sinh=750 cosh=755 tanh=760 asinh=770
  acosh=775 atanh=780 erf=790 gelu=795 equal=815 notEqual=820 lessThan=825 lessEqual=827 greaterThan=830
  greaterEqual=832 logicalOr=840 logicalXor=845 logicalNot=850 logicalAnd=855 modBroadcastable=865
  minBroadcastable=870 maxBroadcastable=875 addBroadcastable=880 powBroadcastable=885 divideBroadcastable=890
  floorDivBroadcastable=895 multiplyBroadcastable=900 subtractBroadcastable=905 tile=920 stack=925 gather=930
  scatter=935 gatherND=940 scatterND=945 softmaxND=950 gatherAlongAxis=952 scatterAlongAxis=954 reverse=960
  reverseSeq=965 splitND=975 concatND=980 transpose=985 sliceStatic=995 sliceDynamic=1000 slidingWindows=1005
  topK=1015 argMin=1020 argMax=1025 embeddingND=1040 batchedMatmul=1045 getShape=1065 loadConstantND=1070
  fillLike=1080 fillStatic=1085 fillDynamic=1090 broadcastToLike=1100 broadcastToStatic=1105
  broadcastToDynamic=1110 squeeze=1120 expandDims=1125 flattenTo2D=1130 reshapeLike=1135 reshapeStatic=1140
  reshapeDynamic=1145 rankPreservingReshape=1150 constantPad=1155 randomNormalLike=1170 randomNormalStatic=1175
  randomNormalDynamic=1180 randomUniformLike=1190 randomUniformStatic=1195 randomUniformDynamic=1200
  randomBernoulliLike=1210 randomBernoulliStatic=1215 randomBernoulliDynamic=1220 categoricalDistribution=1230
  reduceL1=1250 reduceL2=1255 reduceMax=1260 reduceMin=1265 reduceSum=1270 reduceProd=1275 reduceMean=1280
  reduceLogSum=1285 reduceSumSquare=1290 reduceLogSumExp=1295 whereNonZero=1313 matrixBandPart=1315
  lowerTriangular=1320 upperTriangular=1325 whereBroadcastable=1330 layerNormalization=1350
  NonMaximumSuppression=1400 oneHot=1450 cumSum=1455 clampedReLU=1460 argSort=1461 pooling3d=1465
  globalPooling3d=1466 sliceBySize=1470 convolution3d=1471`
    .split(/\s+/).filter((s) => s).map((s) => { const [k, v] = s.split('='); return [k!, Number(v)]; }),
);

/** Layers whose parameters are decoded (message name in the schema below). */
const LAYER_PARAMS: Record<string, string> = {
  convolution: 'ConvolutionLayerParams', pooling: 'PoolingLayerParams', activation: 'ActivationParams',
  innerProduct: 'InnerProductLayerParams', embedding: 'EmbeddingLayerParams', batchnorm: 'BatchnormLayerParams',
  padding: 'PaddingLayerParams', upsample: 'UpsampleLayerParams', unary: 'UnaryFunctionLayerParams',
  reduce: 'ReduceLayerParams', reshape: 'ReshapeLayerParams', flatten: 'FlattenLayerParams',
  permute: 'PermuteLayerParams', concat: 'ConcatLayerParams', slice: 'SliceLayerParams',
  reorganizeData: 'ReorganizeDataLayerParams', custom: 'CustomLayerParams', clip: 'ClipLayerParams',
  gelu: 'GeluLayerParams', softmaxND: 'AxisParams', concatND: 'AxisParams', splitND: 'SplitNDLayerParams',
  transpose: 'TransposeLayerParams', reshapeStatic: 'ShapeParams', loadConstantND: 'ShapeParams',
  batchedMatmul: 'BatchedMatMulLayerParams', layerNormalization: 'LayerNormalizationLayerParams',
  scale: 'ScaleLayerParams', add: 'AlphaParams', multiply: 'AlphaParams', lrn: 'LRNLayerParams',
};

/** Model.Type oneof: field number → type name. */
export const MODEL_TYPE_FIELDS: Record<string, number> = {
  pipelineClassifier: 200, pipelineRegressor: 201, pipeline: 202,
  glmRegressor: 300, supportVectorRegressor: 301, treeEnsembleRegressor: 302, neuralNetworkRegressor: 303,
  bayesianProbitRegressor: 304, glmClassifier: 400, supportVectorClassifier: 401, treeEnsembleClassifier: 402,
  neuralNetworkClassifier: 403, kNearestNeighborsClassifier: 404, neuralNetwork: 500,
  itemSimilarityRecommender: 501, mlProgram: 502, customModel: 555, linkedModel: 556,
  classConfidenceThresholding: 560, oneHotEncoder: 600, imputer: 601, featureVectorizer: 602,
  dictVectorizer: 603, scaler: 604, categoricalMapping: 606, normalizer: 607, arrayFeatureExtractor: 609,
  nonMaximumSuppression: 610, identity: 900, textClassifier: 2000, wordTagger: 2001, visionFeaturePrint: 2002,
  soundAnalysisPreprocessing: 2003, gazetteer: 2004, wordEmbedding: 2005, audioFeaturePrint: 2006,
  serializedModel: 3000,
};
const MODEL_TYPE_MESSAGES: Record<string, string> = {
  pipelineClassifier: 'PipelineWrapper', pipelineRegressor: 'PipelineWrapper', pipeline: 'Pipeline',
  neuralNetwork: 'NeuralNetwork', neuralNetworkClassifier: 'NeuralNetwork', neuralNetworkRegressor: 'NeuralNetwork',
  mlProgram: 'mil.Program',
};

const layerOneof = Object.entries(NN_LAYER_FIELDS)
  .map(([name, num]) => `    ${LAYER_PARAMS[name] ?? 'bytes'} ${name} = ${num};`).join('\n');
const modelOneof = Object.entries(MODEL_TYPE_FIELDS)
  .map(([name, num]) => `    ${MODEL_TYPE_MESSAGES[name] ?? 'bytes'} ${name} = ${num};`).join('\n');

const COREML_SUBSET_PROTO = `
syntax = "proto3";
package anelens.coreml;

message Model {
  int32 specificationVersion = 1;
  ModelDescription description = 2;
  bool isUpdatable = 10;
  oneof Type {
${modelOneof}
  }
}

message PipelineWrapper { Pipeline pipeline = 1; }
message Pipeline {
  repeated Model models = 1;
  repeated string names = 2;
}

message Metadata {
  string shortDescription = 1;
  string versionString = 2;
  string author = 3;
  map<string, string> userDefined = 100;
}

message ModelDescription {
  repeated FeatureDescription input = 1;
  repeated FeatureDescription output = 10;
  string predictedFeatureName = 11;
  repeated FeatureDescription state = 13;
  string defaultFunctionName = 21;
  Metadata metadata = 100;
}

message FeatureDescription {
  string name = 1;
  string shortDescription = 2;
  FeatureType type = 3;
}

message SizeRange { uint64 lowerBound = 1; int64 upperBound = 2; }
message ImageSize { uint64 width = 1; uint64 height = 2; }
message EnumeratedImageSizes { repeated ImageSize sizes = 1; }
message ImageSizeRange { SizeRange widthRange = 1; SizeRange heightRange = 2; }
message ImageFeatureType {
  int64 width = 1;
  int64 height = 2;
  int32 colorSpace = 3;
  oneof SizeFlexibility {
    EnumeratedImageSizes enumeratedSizes = 21;
    ImageSizeRange imageSizeRange = 31;
  }
}
message ArrayShape { repeated int64 shape = 1; }
message EnumeratedShapes { repeated ArrayShape shapes = 1; }
message ShapeRange { repeated SizeRange sizeRanges = 1; }
message ArrayFeatureType {
  repeated int64 shape = 1;
  int32 dataType = 2;
  oneof ShapeFlexibility {
    EnumeratedShapes enumeratedShapes = 21;
    ShapeRange shapeRange = 31;
  }
}
message FeatureType {
  oneof Type {
    bytes int64Type = 1;
    bytes doubleType = 2;
    bytes stringType = 3;
    ImageFeatureType imageType = 4;
    ArrayFeatureType multiArrayType = 5;
    bytes dictionaryType = 6;
    bytes sequenceType = 7;
    StateFeatureType stateType = 8;
  }
  bool isOptional = 1000;
}
message StateFeatureType { ArrayFeatureType arrayType = 1; }

message NeuralNetwork {
  repeated NeuralNetworkLayer layers = 1;
  int32 arrayInputShapeMapping = 5;
  int32 imageInputShapeMapping = 6;
}

message NNTensor { uint32 rank = 1; repeated int64 dimValue = 2; }

message NeuralNetworkLayer {
  string name = 1;
  repeated string input = 2;
  repeated string output = 3;
  repeated NNTensor inputTensor = 4;
  repeated NNTensor outputTensor = 5;
  bool isUpdatable = 10;
  oneof layer {
${layerOneof}
  }
}

message EdgeSizes { uint64 startEdgeSize = 1; uint64 endEdgeSize = 2; }
message BorderAmounts { repeated EdgeSizes borderAmounts = 10; }
message ValidPadding { BorderAmounts paddingAmounts = 1; }
message SamePadding { int32 asymmetryMode = 1; }

message ConvolutionLayerParams {
  uint64 outputChannels = 1;
  uint64 kernelChannels = 2;
  uint64 nGroups = 10;
  repeated uint64 kernelSize = 20;
  repeated uint64 stride = 30;
  repeated uint64 dilationFactor = 40;
  oneof ConvolutionPaddingType {
    ValidPadding valid = 50;
    SamePadding same = 51;
  }
  bool isDeconvolution = 60;
  bool hasBias = 70;
  repeated uint64 outputShape = 100;
}

message PoolingLayerParams {
  int32 type = 1;
  repeated uint64 kernelSize = 10;
  repeated uint64 stride = 20;
  oneof PoolingPaddingType {
    ValidPadding valid = 30;
    SamePadding same = 31;
    ValidCompletePadding includeLastPixel = 32;
  }
  bool avgPoolExcludePadding = 50;
  bool globalPooling = 60;
}
message ValidCompletePadding { repeated uint64 paddingAmounts = 10; }

message ActivationParams {
  oneof NonlinearityType {
    LinearActivationParams linear = 5;
    bytes ReLU = 10;
    LeakyReLUParams leakyReLU = 15;
    bytes thresholdedReLU = 20;
    bytes PReLU = 25;
    bytes tanh = 30;
    bytes scaledTanh = 31;
    bytes sigmoid = 40;
    bytes sigmoidHard = 41;
    bytes ELU = 50;
    bytes softsign = 60;
    bytes softplus = 70;
    bytes parametricSoftplus = 71;
  }
}
message LeakyReLUParams { float alpha = 1; }
message LinearActivationParams { float alpha = 1; float beta = 2; }

message InnerProductLayerParams { uint64 inputChannels = 1; uint64 outputChannels = 2; bool hasBias = 10; }
message EmbeddingLayerParams { uint64 inputDim = 1; uint64 outputChannels = 2; bool hasBias = 10; }
message BatchnormLayerParams {
  uint64 channels = 1;
  bool computeMeanVar = 5;
  bool instanceNormalization = 6;
  float epsilon = 10;
}
message PaddingConstant { float value = 1; }
message PaddingLayerParams {
  oneof PaddingType {
    PaddingConstant constant = 1;
    bytes reflection = 2;
    bytes replication = 3;
  }
  BorderAmounts paddingAmounts = 10;
}
message UpsampleLayerParams {
  repeated uint64 scalingFactor = 1;
  repeated float fractionalScalingFactor = 7;
  int32 mode = 5;
  int32 linearUpsampleMode = 6;
}
message UnaryFunctionLayerParams { int32 type = 1; float alpha = 2; float epsilon = 3; float shift = 4; float scale = 5; }
message ReduceLayerParams { int32 mode = 1; float epsilon = 2; int32 axis = 3; }
message ReshapeLayerParams { repeated int64 targetShape = 1; int32 mode = 2; }
message FlattenLayerParams { int32 mode = 1; }
message PermuteLayerParams { repeated uint64 axis = 1; }
message ConcatLayerParams { bool sequenceConcat = 100; }
message SliceLayerParams { int64 startIndex = 1; int64 endIndex = 2; uint64 stride = 3; int32 axis = 4; }
message ReorganizeDataLayerParams { int32 mode = 1; uint64 blockSize = 2; }
message CustomLayerParams { string className = 10; string description = 40; }
message ClipLayerParams { float minVal = 1; float maxVal = 2; }
message GeluLayerParams { int32 mode = 1; }
message AxisParams { int64 axis = 1; }
message SplitNDLayerParams { int64 axis = 1; uint64 numSplits = 2; repeated uint64 splitSizes = 3; }
message TransposeLayerParams { repeated uint64 axes = 1; }
message ShapeParams { repeated uint64 targetShape = 1; }
message BatchedMatMulLayerParams {
  bool transposeA = 1;
  bool transposeB = 2;
  uint64 weightMatrixFirstDimension = 5;
  uint64 weightMatrixSecondDimension = 6;
  bool hasBias = 7;
}
message LayerNormalizationLayerParams { repeated int64 normalizedShape = 1; float eps = 2; }
message ScaleLayerParams { repeated uint64 shapeScale = 1; bool hasBias = 3; repeated uint64 shapeBias = 4; }
message AlphaParams { float alpha = 1; }
message LRNLayerParams { float alpha = 1; float beta = 2; uint64 localSize = 3; float k = 4; }
`;

const MIL_SUBSET_PROTO = `
syntax = "proto3";
package anelens.coreml.mil;

message Program {
  int64 version = 1;
  map<string, Function> functions = 2;
  string docString = 3;
}
message Function {
  repeated NamedValueType inputs = 1;
  string opset = 2;
  map<string, Block> block_specializations = 3;
}
message Block {
  repeated NamedValueType inputs = 1;
  repeated string outputs = 2;
  repeated Operation operations = 3;
}
message Argument {
  message Binding {
    oneof binding {
      string name = 1;
      Value value = 2;
    }
  }
  repeated Binding arguments = 1;
}
message Operation {
  string type = 1;
  map<string, Argument> inputs = 2;
  repeated NamedValueType outputs = 3;
  repeated Block blocks = 4;
  map<string, Value> attributes = 5;
}
message NamedValueType {
  string name = 1;
  ValueType type = 2;
}
message ValueType {
  oneof type {
    TensorType tensorType = 1;
    ListType listType = 2;
    TupleType tupleType = 3;
    DictionaryType dictionaryType = 4;
    StateType stateType = 5;
  }
}
message Dimension {
  message ConstantDimension { uint64 size = 1; }
  message UnknownDimension { bool variadic = 1; }
  oneof dimension {
    ConstantDimension constant = 1;
    UnknownDimension unknown = 2;
  }
}
message TensorType {
  int32 dataType = 1;
  int64 rank = 2;
  repeated Dimension dimensions = 3;
}
message ListType { ValueType type = 1; Dimension length = 2; }
message TupleType { repeated ValueType types = 1; }
message DictionaryType { ValueType keyType = 1; ValueType valueType = 2; }
message StateType { ValueType wrappedType = 1; }

message Value {
  message ImmediateValue {
    oneof value {
      TensorValue tensor = 1;
      TupleValue tuple = 2;
      ListValue list = 3;
      bytes dictionary = 4;
    }
  }
  message BlobFileValue {
    string fileName = 1;
    uint64 offset = 2;
  }
  string docString = 1;
  ValueType type = 2;
  oneof value {
    ImmediateValue immediateValue = 3;
    BlobFileValue blobFileValue = 5;
  }
}
message TensorValue {
  message RepeatedFloats { repeated float values = 1; }
  message RepeatedDoubles { repeated double values = 1; }
  message RepeatedInts { repeated int32 values = 1; }
  message RepeatedLongInts { repeated int64 values = 1; }
  message RepeatedBools { repeated bool values = 1; }
  message RepeatedStrings { repeated string values = 1; }
  message RepeatedBytes { bytes values = 1; }
  oneof value {
    RepeatedFloats floats = 1;
    RepeatedInts ints = 2;
    RepeatedBools bools = 3;
    RepeatedStrings strings = 4;
    RepeatedLongInts longInts = 5;
    RepeatedDoubles doubles = 6;
    RepeatedBytes bytes = 7;
  }
}
message TupleValue { repeated Value values = 1; }
message ListValue { repeated Value values = 1; }
`;

// ---- decoded shapes (only what the reader touches) ----
export type Int64 = number | { toNumber(): number };
export interface PbArrayFeatureType {
  shape?: Int64[]; dataType?: number;
  enumeratedShapes?: { shapes?: Array<{ shape?: Int64[] }> };
  shapeRange?: { sizeRanges?: Array<{ lowerBound?: Int64; upperBound?: Int64 }> };
}
export interface PbFeatureType {
  int64Type?: Uint8Array; doubleType?: Uint8Array; stringType?: Uint8Array;
  imageType?: { width?: Int64; height?: Int64; colorSpace?: number; enumeratedSizes?: unknown; imageSizeRange?: unknown };
  multiArrayType?: PbArrayFeatureType; dictionaryType?: Uint8Array; sequenceType?: Uint8Array;
  stateType?: { arrayType?: PbArrayFeatureType };
  isOptional?: boolean;
}
export interface PbFeatureDescription { name?: string; type?: PbFeatureType }
export interface PbModelDescription {
  input?: PbFeatureDescription[]; output?: PbFeatureDescription[]; state?: PbFeatureDescription[];
  defaultFunctionName?: string;
  metadata?: { userDefined?: Record<string, string>; author?: string; shortDescription?: string };
}
/** A layer: the common fields plus exactly one params field named by the layer type. */
export type PbLayer = {
  name?: string; input?: string[]; output?: string[]; isUpdatable?: boolean;
  outputTensor?: Array<{ rank?: number; dimValue?: Int64[] }>;
  layer?: string;
} & Record<string, unknown>;
export interface PbNeuralNetwork { layers?: PbLayer[] }
export type PbModel = {
  specificationVersion?: number;
  description?: PbModelDescription;
  isUpdatable?: boolean;
  Type?: string;
  pipeline?: { models?: PbModel[]; names?: string[] };
  pipelineClassifier?: { pipeline?: { models?: PbModel[]; names?: string[] } };
  pipelineRegressor?: { pipeline?: { models?: PbModel[]; names?: string[] } };
  neuralNetwork?: PbNeuralNetwork; neuralNetworkClassifier?: PbNeuralNetwork; neuralNetworkRegressor?: PbNeuralNetwork;
  /** Serialized MILSpec.Program, decoded by milDecoder.ts. */
  mlProgram?: Uint8Array;
} & Record<string, unknown>;

let modelType: protobuf.Type | undefined;
let specType: protobuf.Type | undefined;
let weightedSpecType: protobuf.Type | undefined;

/**
 * For a run (and for writing test models): the NeuralNetwork weights the executor reads, added to the schema
 * above only here, so that analysis keeps skipping them (coreml-format.md §1.4 field numbers).
 */
const WEIGHT_FIELDS: Record<string, string> = {
  ConvolutionLayerParams: 'WeightParams weights = 90; WeightParams bias = 91;',
  InnerProductLayerParams: 'WeightParams weights = 20; WeightParams bias = 21;',
  BatchnormLayerParams: 'WeightParams gamma = 15; WeightParams beta = 16; WeightParams mean = 17; WeightParams variance = 18;',
  ScaleLayerParams: 'WeightParams scale = 2; WeightParams bias = 5;',
  // loadConstantND's params are read through ShapeParams (field 1); its data is field 2.
  ShapeParams: 'WeightParams data = 2;',
};
const WEIGHT_MESSAGES = `
message WeightParams {
  repeated float floatValue = 1;
  bytes float16Value = 2;
  bytes rawValue = 30;
  bytes int8RawValue = 31;
  QuantizationParams quantization = 40;
}
message QuantizationParams {
  uint64 numberOfBits = 1;
  oneof QuantizationType {
    LinearQuantizationParams linearQuantization = 101;
    LookUpTableQuantizationParams lookupTableQuantization = 102;
  }
}
message LinearQuantizationParams { repeated float scale = 1; repeated float bias = 2; }
message LookUpTableQuantizationParams { repeated float floatValue = 1; }
`;

function withWeightFields(proto: string): string {
  let out = proto;
  for (const [message, fields] of Object.entries(WEIGHT_FIELDS)) {
    const at = new RegExp(`message ${message} \\{`);
    if (!at.test(out)) throw new Error(`schema: no message ${message} to add weights to`);
    out = out.replace(at, (m) => `${m} ${fields}`);
  }
  return out + WEIGHT_MESSAGES;
}

/** The Model decoder of a run: like coremlSpecType, plus the NeuralNetwork weights of WEIGHT_FIELDS. */
export function coremlWeightedSpecType(): protobuf.Type {
  if (!weightedSpecType) {
    const root = protobuf.parse(withWeightFields(COREML_SUBSET_PROTO.replace(/mil\.Program/g, 'bytes')), { keepCase: true }).root;
    weightedSpecType = root.lookupType('anelens.coreml.Model');
  }
  return weightedSpecType;
}

/** The Model type with the MIL program as messages and NeuralNetwork weights (for writing test models), built once per process. */
export function coremlModelType(): protobuf.Type {
  if (!modelType) {
    const root = new protobuf.Root();
    protobuf.parse(MIL_SUBSET_PROTO, root, { keepCase: true });
    protobuf.parse(withWeightFields(COREML_SUBSET_PROTO.replace(/mil\.Program/g, 'anelens.coreml.mil.Program')), root, { keepCase: true });
    modelType = root.lookupType('anelens.coreml.Model');
  }
  return modelType;
}

/**
 * The Model decoder the reader uses: `mlProgram` stays undecoded bytes (a view, no copy) for the
 * Reader-level MIL decoder (milDecoder.ts), which builds the program without a message tree.
 */
export function coremlSpecType(): protobuf.Type {
  if (!specType) {
    const root = protobuf.parse(COREML_SUBSET_PROTO.replace(/mil\.Program/g, 'bytes'), { keepCase: true }).root;
    specType = root.lookupType('anelens.coreml.Model');
  }
  return specType;
}

export function int64ToNumber(v: Int64 | undefined | null): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  return v.toNumber();
}

/** MILSpec.DataType → the IR's dtype names (MIL's own). */
export function milDataType(code: number | undefined): import('../../../common/graphIR').DType {
  switch (code) {
    case 1: return 'bool';
    case 2: return 'string';
    case 10: return 'fp16';
    case 11: return 'fp32';
    case 12: return 'fp64';
    case 21: return 'int8';
    case 22: return 'int16';
    case 23: return 'int32';
    case 24: return 'int64';
    case 31: return 'uint8';
    default: return 'unknown';
  }
}

/** ArrayFeatureType.ArrayDataType → dtype. */
export function arrayDataType(code: number | undefined): import('../../../common/graphIR').DType {
  switch (code) {
    case 0x10020: return 'fp32';
    case 0x10040: return 'fp64';
    case 0x10010: return 'fp16';
    case 0x20020: return 'int32';
    case 0x20008: return 'int8';
    default: return 'fp32';
  }
}
