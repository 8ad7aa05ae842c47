/** Host keys: forward-secure Ed25519 epoch keys certified by a destroyed master key. Re-exports only. */
export {
  type BaselineSignature,
  type BaselineTrust,
  signBaselineRoot,
  verifyBaselineRoot,
} from './baseline.js';
export {
  assertHost,
  checkCertificate,
  type EnrolledKey,
  epochAt,
  epochBounds,
  fingerprint,
  formatPublicKeyFile,
  parsePublicKeyFile,
  readPublicKeyFile,
} from './material.js';
export {
  assertPrivateMode,
  DEFAULT_EPOCH_SECONDS,
  DEFAULT_EPOCHS,
  type EpochCert,
  type EpochSigner,
  type GenerateKeysOptions,
  type GenerateKeysResult,
  generateKeys,
  type KeyStore,
  loadKeys,
  PRIVATE_FILE,
  PUBLIC_FILE,
  type PublicMaterial,
  readPublicMaterial,
  type SignerSource,
} from './store.js';
