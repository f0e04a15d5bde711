#include "common/audit/record_json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/audit/fast_record_json.h"

namespace tverr::audit {
namespace {

namespace pb = google::protobuf;

constexpr char kTypeUrlPrefix[] = "type.googleapis.com";

// Shared like protobuf's own generated-pool resolver (it keeps no state).
pb::util::TypeResolver* Resolver() {
  static pb::util::TypeResolver* const resolver = pb::util::NewTypeResolverForDescriptorPool(
      kTypeUrlPrefix, pb::DescriptorPool::generated_pool());
  return resolver;
}

std::string ToString(const pb::util::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

// MessageToJsonString prints from SerializeAsString(), whose map entries
// come in hash order; a deterministic serialisation sorts them by key.
absl::StatusOr<std::string> CanonicalJson(const pb::Message& message) {
  std::string binary;
  {
    pb::io::StringOutputStream stream(&binary);
    pb::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!message.SerializeToCodedStream(&coded)) {
      return absl::InternalError("audit: cannot serialise message");
    }
  }
  pb::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = false;
  options.always_print_enums_as_ints = false;
  options.preserve_proto_field_names = true;
  std::string json;
  pb::util::Status status = pb::util::BinaryToJsonString(
      Resolver(), absl::StrCat(kTypeUrlPrefix, "/", message.GetDescriptor()->full_name()), binary,
      &json, options);
  if (!status.ok()) return absl::InternalError(absl::StrCat("audit: JSON: ", ToString(status)));
  return json;
}

// Where two strings first differ, for the "not canonical" message.
size_t FirstDifference(absl::string_view a, absl::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// Protobuf's parser, then the canonical check.
absl::Status SlowParse(absl::string_view line, absl::string_view what, pb::Message* message) {
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  pb::util::Status status =
      pb::util::JsonStringToMessage(pb::StringPiece(line.data(), line.size()), message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not a JSON ", what, ": ", ToString(status)));
  }
  absl::StatusOr<std::string> canonical = CanonicalJson(*message);
  if (!canonical.ok()) return canonical.status();
  if (*canonical != line) {
    return absl::DataLossError(absl::StrCat(what, " is not in canonical form (differs at byte ",
                                            FirstDifference(*canonical, line), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> RecordToJson(const v1::AuditRecord& record) {
  // Protobuf prints -0.0 as -0 but reads -0 back as +0: a line must read
  // back as itself, so a negative zero is stored as 0.
  const auto negative_zero = [](double d) { return d == 0 && std::signbit(d); };
  bool has_negative_zero = false;
  for (const v1::AuditSiteMetrics& m : record.metrics()) {
    has_negative_zero |= negative_zero(m.accuracy()) || negative_zero(m.loss());
  }
  if (!has_negative_zero) return CanonicalJson(record);
  v1::AuditRecord copy = record;
  for (v1::AuditSiteMetrics& m : *copy.mutable_metrics()) {
    if (negative_zero(m.accuracy())) m.set_accuracy(0);
    if (negative_zero(m.loss())) m.set_loss(0);
  }
  return CanonicalJson(copy);
}

absl::StatusOr<v1::AuditRecord> ParseCanonicalRecord(absl::string_view line) {
  v1::AuditRecord record;
  std::string scratch;
  scratch.reserve(line.size());
  if (internal::FastParseCanonicalRecord(line, &record, &scratch)) return record;
  record.Clear();
  absl::Status status = SlowParse(line, "audit record", &record);
  if (!status.ok()) return status;
  return record;
}

absl::StatusOr<std::string> TreeHeadToJson(const v1::AuditTreeHead& head) {
  return CanonicalJson(head);
}

absl::StatusOr<v1::AuditTreeHead> ParseCanonicalTreeHead(absl::string_view line) {
  v1::AuditTreeHead head;
  std::string scratch;
  scratch.reserve(line.size());
  if (internal::FastParseCanonicalTreeHead(line, &head, &scratch)) return head;
  head.Clear();
  absl::Status status = SlowParse(line, "tree head", &head);
  if (!status.ok()) return status;
  return head;
}

}  // namespace tverr::audit
