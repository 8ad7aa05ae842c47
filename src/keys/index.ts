/** Host keys: forward-secure Ed25519 epoch keys certified by a destroyed master key. Re-exports only. */
export {
  type BaselineSignature,
  type BaselineTrust,
  signBaselineRoot,
  verifyBaselineRoot,
} from './baseline.js';
export { loadKeys } from './forward-secure.js';
export { DEFAULT_EPOCH_SECONDS, DEFAULT_EPOCHS, generateKeys } from './generate.js';
export { assertPrivateMode, PRIVATE_FILE, PUBLIC_FILE, readPublicMaterial } from './key-files.js';
export {
  assertHost,
  checkCertificate,
  type EnrolledKey,
  epochAt,
  epochBounds,
  fingerprint,
  formatPublicKeyFile,
  PUBKEY_MAGIC,
  parsePublicKeyFile,
  readPublicKeyFile,
} from './material.js';
export { type StagedKeys, stageKeys } from './rotate.js';
export type {
  EpochCert,
  EpochSigner,
  GenerateKeysOptions,
  GenerateKeysResult,
  KeyStore,
  PublicMaterial,
  SignerSource,
} from './types.js';
