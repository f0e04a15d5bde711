#include "node/daemon/payload_client.h"

#include <grpcpp/client_context.h>

#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"
#include "common/status/grpc_status.h"
#include "common/transfer/chunk_assembler.h"
#include "common/transfer/chunk_writer.h"
#include "common/transfer/limits.h"

namespace tverr::node {
namespace {

bool IsLowerHexDigest(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

// Keeps the code, names the operation.
absl::Status Annotate(const absl::Status& s, absl::string_view what) {
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

}  // namespace

PayloadClient::PayloadClient(v1::NodeService::Stub* stub, PayloadClientOptions options)
    : stub_(stub), options_(options) {}

PayloadClient::~PayloadClient() = default;

void PayloadClient::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  for (grpc::ClientContext* ctx : active_) ctx->TryCancel();
}

absl::Status PayloadClient::Begin(grpc::ClientContext* ctx) {
  absl::MutexLock lock(&mu_);
  if (cancelled_) return absl::CancelledError("payload transfers were cancelled");
  active_.insert(ctx);
  return absl::OkStatus();
}

void PayloadClient::End(grpc::ClientContext* ctx) {
  absl::MutexLock lock(&mu_);
  active_.erase(ctx);
}

absl::StatusOr<std::string> PayloadClient::Fetch(const std::string& sha256_hex,
                                                 v1::PayloadKind kind) {
  if (!IsLowerHexDigest(sha256_hex)) {
    return absl::InvalidArgumentError("payload digest must be 64 lower-case hex digits");
  }
  const std::string what = absl::StrCat("download of ", v1::PayloadKind_Name(kind), " ",
                                        sha256_hex.substr(0, 12));
  v1::DownloadRequest request;
  request.mutable_sha256()->set_digest(absl::HexStringToBytes(sha256_hex));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   absl::ToChronoMilliseconds(options_.call_timeout));
  if (absl::Status s = Begin(&ctx); !s.ok()) return s;

  std::string bytes;
  transfer::ChunkAssembler assembler(
      options_.max_download_bytes, [kind](v1::PayloadKind k) { return k == kind; },
      [&bytes](absl::string_view data) {
        bytes.append(data.data(), data.size());
        return absl::OkStatus();
      });
  std::unique_ptr<grpc::ClientReader<v1::Chunk>> reader = stub_->Download(&ctx, request);
  absl::Status refused;
  v1::Chunk chunk;
  while (reader->Read(&chunk)) {
    refused = assembler.Add(chunk);
    if (!refused.ok()) {
      // Nothing more of this transfer is wanted.
      ctx.TryCancel();
      break;
    }
  }
  grpc::Status finished = reader->Finish();
  End(&ctx);
  if (!refused.ok()) return Annotate(refused, what);
  if (!finished.ok()) return Annotate(FromGrpcStatus(finished), what);
  if (absl::Status s = assembler.Finish(); !s.ok()) return Annotate(s, what);
  return bytes;
}

absl::Status PayloadClient::UploadUpdate(const std::string& run_id, uint64_t round,
                                         const v1::UpdateInfo& info, const std::string& tvts,
                                         v1::PayloadKind kind) {
  const std::string what = absl::StrCat("upload of the update of round ", round);
  v1::TransferHeader header;
  header.set_kind(kind);
  header.set_run_id(run_id);
  header.set_round(round);
  *header.mutable_update() = info;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   absl::ToChronoMilliseconds(options_.call_timeout));
  if (absl::Status s = Begin(&ctx); !s.ok()) return s;

  v1::UploadReceipt receipt;
  std::unique_ptr<grpc::ClientWriter<v1::Chunk>> writer = stub_->Upload(&ctx, &receipt);
  absl::Status sent = transfer::SendBytes(
      header, tvts, [&writer](const v1::Chunk& c) { return writer->Write(c); },
      transfer::kMaxChunkBytes);
  if (sent.ok()) writer->WritesDone();
  // When the stream broke, Finish() carries the coordinator's reason.
  grpc::Status finished = writer->Finish();
  End(&ctx);
  if (!finished.ok()) return Annotate(FromGrpcStatus(finished), what);
  if (!sent.ok()) return Annotate(sent, what);
  const crypto::Sha256Digest digest = crypto::Sha256(tvts);
  if (receipt.size() != tvts.size() ||
      receipt.sha256().digest() != crypto::AsStringView(digest)) {
    return absl::DataLossError(
        absl::StrCat(what, ": the receipt does not name the bytes sent (sha256 ",
                     crypto::ToHex(receipt.sha256().digest()), ", ", receipt.size(), " bytes)"));
  }
  return absl::OkStatus();
}

}  // namespace tverr::node
