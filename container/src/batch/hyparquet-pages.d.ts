/**
 * Page-level functions of hyparquet and hyparquet-writer, which their packages export as `src/*.js` with
 * their types under `types/`. The project resolves modules the Node 10 way, which does not read a package's
 * `exports`, so these lines give each module its published types.
 */
declare module 'hyparquet/src/column.js' {
  export { parquetHeader } from 'hyparquet/types/column';
}
declare module 'hyparquet/src/datapage.js' {
  export { decompressPage } from 'hyparquet/types/datapage';
}
declare module 'hyparquet/src/delta.js' {
  export { deltaBinaryUnpack } from 'hyparquet/types/delta';
}
declare module 'hyparquet/src/encoding.js' {
  export { byteStreamSplit, readRleBitPackedHybrid } from 'hyparquet/types/encoding';
}
declare module 'hyparquet/src/plain.js' {
  export { readPlain } from 'hyparquet/types/plain';
}
declare module 'hyparquet-writer/src/datapage.js' {
  export { writePageHeader } from 'hyparquet-writer/types/datapage';
}
declare module 'hyparquet-writer/src/encoding.js' {
  export { writeRleBitPackedHybrid } from 'hyparquet-writer/types/encoding';
}
declare module 'hyparquet-writer/src/metadata.js' {
  export { writeMetadata } from 'hyparquet-writer/types/metadata';
}
declare module 'hyparquet-writer/src/snappy.js' {
  export { snappyCompress } from 'hyparquet-writer/types/snappy';
}
