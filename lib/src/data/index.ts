export * from './augment';
export * from './dataset';
export * from './idx';
export * from './mnist';
export * from './random';
export * from './ref';
export { readChecksums, sha256, verifyFile, checksumsFile, type ChecksumTable, type RecordedFile, type Verification } from './checksums';
