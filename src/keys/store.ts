/**
 * The names src/keys/store.ts used to export, before it was split into types.ts, key-files.ts,
 * generate.ts, erase.ts and forward-secure.ts. Re-exports only, kept because src/alert imports
 * its types from here; new code imports src/keys/index.js.
 */

export { loadKeys } from './forward-secure.js';
export { DEFAULT_EPOCH_SECONDS, DEFAULT_EPOCHS, generateKeys } from './generate.js';
export { assertPrivateMode, PRIVATE_FILE, PUBLIC_FILE, readPublicMaterial } from './key-files.js';
export type {
  EpochCert,
  EpochSigner,
  GenerateKeysOptions,
  GenerateKeysResult,
  KeyStore,
  PublicMaterial,
  SignerSource,
} from './types.js';
