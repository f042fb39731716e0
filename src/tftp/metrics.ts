/**
 * @module tftp/metrics
 * Prometheus metrics of the TFTP service, registered in the registry the daemon passes in.
 * Counters move once per transfer or per dropped packet, never per DATA packet (hot path).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface TftpMetrics {
  started: Counter<string>;
  completed: Counter<string>;
  failed: Counter<'reason'>;
  refused: Counter<'reason'>;
  deferred: Counter<string>;
  malformed: Counter<'reason'>;
  bytes: Counter<string>;
  retransmits: Counter<string>;
  duplicateAcks: Counter<string>;
  active: Gauge<string>;
  native: Counter<string>;
}

export function createTftpMetrics(registry: Registry): TftpMetrics {
  const registers = [registry];
  return {
    started: new Counter({
      name: 'kickstand_tftp_transfers_started_total',
      help: 'TFTP read transfers started',
      registers,
    }),
    completed: new Counter({
      name: 'kickstand_tftp_transfers_completed_total',
      help: 'TFTP read transfers completed (last block ACKed)',
      registers,
    }),
    failed: new Counter({
      name: 'kickstand_tftp_transfers_failed_total',
      help: 'TFTP transfers that started and did not complete, by reason',
      labelNames: ['reason'],
      registers,
    }),
    refused: new Counter({
      name: 'kickstand_tftp_requests_refused_total',
      help: 'TFTP requests answered with an ERROR instead of a transfer, by reason',
      labelNames: ['reason'],
      registers,
    }),
    deferred: new Counter({
      name: 'kickstand_tftp_requests_deferred_total',
      help: 'TFTP read requests left unanswered at tftp.maxSessions (the client retransmits; served once a transfer ends)',
      registers,
    }),
    malformed: new Counter({
      name: 'kickstand_tftp_packets_dropped_total',
      help: 'TFTP packets dropped as malformed or unexpected, by reason',
      labelNames: ['reason'],
      registers,
    }),
    bytes: new Counter({
      name: 'kickstand_tftp_sent_bytes_total',
      help: 'Payload bytes sent in TFTP DATA (first transmissions)',
      registers,
    }),
    retransmits: new Counter({
      name: 'kickstand_tftp_retransmits_total',
      help: 'TFTP DATA/OACK packets sent again after a timeout or a partial window ACK',
      registers,
    }),
    duplicateAcks: new Counter({
      name: 'kickstand_tftp_duplicate_acks_total',
      help: 'ACKs that did not advance a transfer (ignored, RFC 1123 4.2.3.1)',
      registers,
    }),
    native: new Counter({
      name: 'kickstand_tftp_native_transfers_total',
      help: 'TFTP transfers whose data phase ran on a native thread (a subset of started; the rest ran in JavaScript)',
      registers,
    }),
    active: new Gauge({ name: 'kickstand_tftp_sessions_active', help: 'TFTP transfers in progress', registers }),
  };
}
