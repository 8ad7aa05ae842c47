/** Sealed RFC 5424 alerts: formatting, signing, pacing and transports. Re-exports only. */
export {
  type Alerter,
  type AlerterOptions,
  type AlerterStats,
  createAlerter,
  DAEMON_KIND,
  DEFAULT_APP_NAME,
  DEFAULT_MAX_PER_SECOND,
  type SessionChain,
} from './alerter.js';
export {
  type AlertEvent,
  type ChainLink,
  type Counts,
  EVENT_TYPES,
  type EventType,
  type FindingEvent,
  type FloodEvent,
  findingEvent,
  type HeartbeatStatus,
  type WireEvent,
} from './events.js';
export {
  CUT_MARKER,
  cutDisplay,
  FACILITIES,
  type Facility,
  formatMessage,
  formatSealed,
  isFacility,
  MAX_MESSAGE_BYTES,
  type MessageContext,
  rfc5424Time,
  type SealedMessage,
} from './format.js';
export { MemoryQueue, type OutboundQueue, type QueuedMessage } from './queue.js';
export {
  canonicalBytes,
  escapeParamValue,
  messageDigest,
  SD_ID_EVENT,
  SD_ID_SIG,
  safeText,
  unescapeParamValue,
  WIRE_VERSION,
} from './sd.js';
export { formatTarget, type Protocol, parseTarget, type SyslogTarget } from './target.js';
export {
  createTransport,
  type StreamOptions,
  StreamTransport,
  type Transport,
  type TransportStats,
  UdpTransport,
} from './transport.js';
