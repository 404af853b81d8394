/** Plain-object views of the caffe.proto subset (field names as in the .proto, defaults filled). */

export interface BlobShape {
  dim: number[];
}

export interface BlobProto {
  shape: BlobShape | null;
  data: number[];
  double_data: number[];
  num: number;
  channels: number;
  height: number;
  width: number;
}

export interface ConvolutionParameter {
  num_output: number;
  bias_term: boolean;
  pad: number[];
  kernel_size: number[];
  stride: number[];
  dilation: number[];
  pad_h: number;
  pad_w: number;
  kernel_h: number;
  kernel_w: number;
  stride_h: number;
  stride_w: number;
  group: number;
  axis: number;
}

export interface PoolingParameter {
  pool: 'MAX' | 'AVE' | 'STOCHASTIC';
  pad: number;
  pad_h: number;
  pad_w: number;
  kernel_size: number;
  kernel_h: number;
  kernel_w: number;
  stride: number;
  stride_h: number;
  stride_w: number;
  global_pooling: boolean;
}

export interface LayerParameter {
  name: string;
  type: string;
  bottom: string[];
  top: string[];
  blobs: BlobProto[];
  concat_param: { axis: number; concat_dim: number } | null;
  convolution_param: ConvolutionParameter | null;
  input_param: { shape: BlobShape[] } | null;
  pooling_param: PoolingParameter | null;
  relu_param: { negative_slope: number } | null;
  reshape_param: { shape: BlobShape | null; axis: number; num_axes: number } | null;
  sigmoid_param: object | null;
  permute_param: { order: number[] } | null;
}

export interface NetParameter {
  name: string;
  input: string[];
  input_shape: BlobShape[];
  input_dim: number[];
  layer: LayerParameter[];
}

/** A weight blob as float32 with its shape. */
export interface Blob {
  shape: number[];
  data: Float32Array;
}
