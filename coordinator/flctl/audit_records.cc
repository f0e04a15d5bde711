#include "coordinator/flctl/audit_records.h"

#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tverr::flctl {
namespace {

namespace fs = std::filesystem;

// Parses each line of `text`; when `raw` is set, also keeps the lines.
template <typename Message>
absl::StatusOr<std::vector<Message>> ParseJsonLines(absl::string_view text,
                                                    absl::string_view source_name,
                                                    std::vector<std::string>* raw = nullptr) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  // The newline that ends the last line leaves one empty piece behind it.
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::vector<Message> out;
  out.reserve(lines.size());
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // schema drift must show, not vanish
  for (size_t i = 0; i < lines.size(); ++i) {
    if (absl::StripAsciiWhitespace(lines[i]).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(source_name, " line ", i + 1, ": empty line"));
    }
    Message message;
    auto status =
        google::protobuf::util::JsonStringToMessage(std::string(lines[i]), &message, options);
    if (!status.ok()) {
      const bool torn = i + 1 == lines.size() && !absl::EndsWith(text, "\n");
      return absl::InvalidArgumentError(absl::StrCat(
          source_name, " line ", i + 1, ": not a valid ", Message::descriptor()->name(), ": ",
          std::string(status.message()),
          torn ? " (the last line has no newline: was the log copied while it was written?)" : ""));
    }
    out.push_back(std::move(message));
    if (raw != nullptr) raw->emplace_back(lines[i]);
  }
  return out;
}

// NOT_FOUND when missing; the whole file otherwise.
absl::StatusOr<std::string> ReadWholeFile(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat("no file ", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::PermissionDeniedError(absl::StrCat("cannot read ", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", path.string()));
  return ss.str();
}

}  // namespace

absl::StatusOr<std::vector<v1::AuditRecord>> ParseAuditRecords(absl::string_view text,
                                                               absl::string_view source_name) {
  return ParseJsonLines<v1::AuditRecord>(text, source_name);
}

absl::StatusOr<std::vector<v1::AuditTreeHead>> ParseAuditTreeHeads(absl::string_view text,
                                                                   absl::string_view source_name) {
  return ParseJsonLines<v1::AuditTreeHead>(text, source_name);
}

absl::StatusOr<AuditLogContents> LoadAuditLog(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("no audit log directory ", dir));
  }
  AuditLogContents log;
  const fs::path records_path = fs::path(dir) / kAuditRecordsFile;
  absl::StatusOr<std::string> records_text = ReadWholeFile(records_path);
  if (!records_text.ok()) return records_text.status();
  absl::StatusOr<std::vector<v1::AuditRecord>> records =
      ParseJsonLines<v1::AuditRecord>(*records_text, records_path.string(), &log.record_lines);
  if (!records.ok()) return records.status();
  log.records = std::move(*records);

  const fs::path heads_path = fs::path(dir) / kAuditTreeHeadsFile;
  if (fs::exists(heads_path, ec)) {
    absl::StatusOr<std::string> heads_text = ReadWholeFile(heads_path);
    if (!heads_text.ok()) return heads_text.status();
    absl::StatusOr<std::vector<v1::AuditTreeHead>> heads =
        ParseAuditTreeHeads(*heads_text, heads_path.string());
    if (!heads.ok()) return heads.status();
    log.tree_heads = std::move(*heads);
  }
  return log;
}

absl::StatusOr<std::set<v1::AuditEvent>> ParseAuditEventNames(
    const std::vector<std::string>& names) {
  std::set<v1::AuditEvent> events;
  for (const std::string& name : names) {
    v1::AuditEvent event;
    const std::string upper = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(name));
    if (!v1::AuditEvent_Parse(upper, &event) || event == v1::AUDIT_EVENT_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown audit event '", name, "' (names as in audit.proto, e.g. ",
                       "RUN_CREATED, UPDATE_REJECTED, AUTHENTICATION_FAILED)"));
    }
    events.insert(event);
  }
  return events;
}

bool MatchesAuditFilter(const AuditFilter& filter, const v1::AuditRecord& record) {
  if (!filter.run_prefix.empty() &&
      !absl::StartsWithIgnoreCase(record.run_id(), filter.run_prefix)) {
    return false;
  }
  if (filter.round.has_value() && record.round() != *filter.round) return false;
  if (!filter.events.empty() && filter.events.count(record.event()) == 0) return false;
  if (!filter.node.empty()) {
    bool found = absl::StrContains(record.actor().identity(), filter.node);
    for (const std::string& node : record.nodes()) {
      if (found) break;
      found = absl::StrContains(node, filter.node);
    }
    if (!found) return false;
  }
  return true;
}

std::vector<v1::AuditRecord> FilterAuditRecords(const std::vector<v1::AuditRecord>& records,
                                                const AuditFilter& filter) {
  std::vector<v1::AuditRecord> out;
  for (const v1::AuditRecord& record : records) {
    if (MatchesAuditFilter(filter, record)) out.push_back(record);
  }
  return out;
}

}  // namespace tverr::flctl
