// How the coordinator's services write audit records (the server connects
// this to the audit log): `durable` means on disk before the call returns,
// for actions that are acknowledged after it. An error of a durable record
// must stop the action.
#ifndef TVERR_COORDINATOR_SERVICE_AUDIT_SINK_H_
#define TVERR_COORDINATOR_SERVICE_AUDIT_SINK_H_

#include <functional>

#include "absl/status/status.h"
#include "common/tls/peer.h"
#include "tverr/v1/audit.pb.h"

namespace tverr::coordinator {

using AuditSink = std::function<absl::Status(v1::AuditRecord record, bool durable)>;

// A record of `event` by `peer` (identity and certificate fingerprint).
inline v1::AuditRecord PeerRecord(v1::AuditEvent event, const tls::Peer& peer) {
  v1::AuditRecord r;
  r.set_event(event);
  r.mutable_actor()->set_identity(peer.identity.Uri());
  r.mutable_actor()->set_certificate_sha256(peer.certificate_sha256);
  r.set_outcome(v1::SUCCESS);
  return r;
}

// Writes `record` if `sink` is set (OK otherwise).
inline absl::Status WriteAudit(const AuditSink& sink, v1::AuditRecord record, bool durable) {
  return sink ? sink(std::move(record), durable) : absl::OkStatus();
}

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_SERVICE_AUDIT_SINK_H_
