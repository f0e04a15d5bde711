#include "coordinator/flctl/audit_command.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/audit/verifier.h"
#include "coordinator/flctl/args.h"
#include "coordinator/flctl/audit_records.h"
#include "coordinator/flctl/audit_report.h"
#include "coordinator/flctl/audit_report_parts.h"

namespace tverr::flctl {
namespace {

constexpr char kUsage[] =
    "usage: flctl audit show --log DIR [--run ID_PREFIX] [--round N] [--node TEXT]\n"
    "                        [--event NAME,...] [--format text|json]\n"
    "           one line per record (json: one record per line, as in the log)\n"
    "       flctl audit report --log DIR --out report.html [--audit_key PUB.pem]\n"
    "                        [--title TEXT] [--consortium NAME] [--coordinator ADDRESS]\n"
    "           a self-contained HTML report; with --audit_key the log is verified\n"
    "           first and the result is shown at the top\n"
    "       flctl audit verify --log DIR --audit_key PUB.pem\n"
    "           exit 0 only when every record and tree head checks out\n"
    "DIR holds records.jsonl and tree-heads.jsonl (a copy of the coordinator's audit log).\n";

constexpr size_t kShortHash = 12;

std::string Short(const std::string& hex) { return hex.substr(0, kShortHash); }

std::string OutcomeName(v1::AuditOutcome outcome) {
  switch (outcome) {
    case v1::SUCCESS:
      return "success";
    case v1::FAILURE:
      return "failure";
    case v1::REFUSED:
      return "refused";
    default:
      return "-";
  }
}

// `text` in double quotes, on one line: \\, \", \n, \r, \t and other control
// characters escaped; everything else (UTF-8 included) as is.
std::string Quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\x%02x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// A parameter value as is when it is one plain word, else quoted.
std::string Value(const std::string& text) {
  if (text.empty()) return "\"\"";
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '"' || c == '\\') return Quoted(text);
  }
  return text;
}

int Usage(const std::string& message, std::ostream& err) {
  err << "flctl audit: " << message << "\n" << kUsage;
  return 2;
}

// Runs the offline verifier (common/audit/verifier.h) on `dir` with the
// public key PEM at `key_path`. A non-OK status means no verdict (key
// unreadable or not an Ed25519 public key, a log file missing).
absl::StatusOr<audit::VerifyResult> Verify(const std::string& dir, const std::string& key_path) {
  std::ifstream in(key_path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read audit key ", key_path));
  std::ostringstream pem;
  pem << in.rdbuf();
  absl::StatusOr<audit::VerifyResult> result = audit::VerifyLogDirectory(dir, pem.str());
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        absl::StrCat("cannot verify ", dir, ": ", result.status().message()));
  }
  return result;
}

// The verifier's verdict for people: its message, the counts, and where the
// first problem is.
std::string DescribeVerdict(const audit::VerifyResult& v) {
  std::string text = v.message;
  absl::StrAppend(&text, "\n", v.records, " records, ", v.tree_heads, " tree heads");
  if (v.ok) {
    absl::StrAppend(&text, "; ", v.covered_records,
                    " records covered by the latest signed tree head");
    if (v.uncovered_records > 0) {
      absl::StrAppend(&text, ", ", v.uncovered_records, " after it not yet signed");
    }
    return text;
  }
  if (v.first_bad_record.has_value()) {
    absl::StrAppend(&text, "\nfirst bad record: ", *v.first_bad_record, " (line ",
                    *v.first_bad_record + 1, " of records.jsonl)");
  } else if (v.suspect_end > v.suspect_begin) {
    absl::StrAppend(&text, "\nthe first bad record is among records ", v.suspect_begin, "..",
                    v.suspect_end - 1);
  }
  if (v.bad_tree_head.has_value()) {
    absl::StrAppend(&text, "\ntree head concerned: line ", *v.bad_tree_head + 1,
                    " of tree-heads.jsonl");
  }
  return text;
}

int ShowCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Args> args = ParseArgs(argv, {"log", "run", "round", "node", "event", "format"});
  if (!args.ok()) return Usage(std::string(args.status().message()), err);
  absl::StatusOr<std::string> dir = args->Require("log");
  if (!dir.ok()) return Usage(std::string(dir.status().message()), err);
  const std::string format = args->Get("format", "text");
  if (format != "text" && format != "json") return Usage("--format must be text or json", err);

  AuditFilter filter;
  filter.run_prefix = args->Get("run");
  filter.node = args->Get("node");
  if (args->Has("round")) {
    uint64_t round = 0;
    if (!absl::SimpleAtoi(args->Get("round"), &round)) {
      return Usage(absl::StrCat("--round must be a round number, not '", args->Get("round"), "'"),
                   err);
    }
    filter.round = round;
  }
  absl::StatusOr<std::set<v1::AuditEvent>> events = ParseAuditEventNames(args->GetList("event"));
  if (!events.ok()) return Usage(std::string(events.status().message()), err);
  filter.events = std::move(*events);

  absl::StatusOr<AuditLogContents> log = LoadAuditLog(*dir);
  if (!log.ok()) {
    err << "flctl audit show: " << log.status().message() << "\n";
    return 1;
  }
  if (format == "text") out << FormatAuditShowHeader();
  size_t shown = 0;
  for (size_t i = 0; i < log->records.size(); ++i) {
    if (!MatchesAuditFilter(filter, log->records[i])) continue;
    ++shown;
    // JSON: the stored line itself, byte for byte (its leaf hash covers it).
    out << (format == "json" ? log->record_lines[i] + "\n" : FormatAuditShowLine(log->records[i]));
  }
  if (format == "text") out << "# " << shown << " of " << log->records.size() << " records\n";
  return 0;
}

// Writes `contents` to `path` through a temporary file renamed into place,
// so a reader never sees half a report.
absl::Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return absl::PermissionDeniedError(absl::StrCat("cannot write ", tmp));
    f << contents;
    f.flush();
    if (!f) return absl::DataLossError(absl::StrCat("error writing ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", path));
  }
  return absl::OkStatus();
}

int ReportCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Args> args =
      ParseArgs(argv, {"log", "out", "audit_key", "title", "consortium", "coordinator"});
  if (!args.ok()) return Usage(std::string(args.status().message()), err);
  absl::StatusOr<std::string> dir = args->Require("log");
  if (!dir.ok()) return Usage(std::string(dir.status().message()), err);
  absl::StatusOr<std::string> out_path = args->Require("out");
  if (!out_path.ok()) return Usage(std::string(out_path.status().message()), err);

  absl::StatusOr<AuditLogContents> log = LoadAuditLog(*dir);
  if (!log.ok()) {
    err << "flctl audit report: " << log.status().message() << "\n";
    return 1;
  }
  ReportOptions options;
  if (args->Has("title")) options.title = args->Get("title");
  options.consortium = args->Get("consortium");
  options.coordinator = args->Get("coordinator");
  options.log_source = *dir;
  options.generated_at = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::optional<audit::VerifyResult> verdict;
  if (args->Has("audit_key")) {
    absl::StatusOr<audit::VerifyResult> result = Verify(*dir, args->Get("audit_key"));
    if (!result.ok()) {
      err << "flctl audit report: " << result.status().message() << "\n";
      return 1;
    }
    verdict = std::move(*result);
    options.verification = verdict->ok ? AuditVerification::kVerified : AuditVerification::kFailed;
    options.verification_summary = DescribeVerdict(*verdict);
  }
  const std::string html = RenderAuditReport(log->records, log->tree_heads, options);
  if (absl::Status s = WriteFileAtomically(*out_path, html); !s.ok()) {
    err << "flctl audit report: " << s.message() << "\n";
    return 1;
  }
  out << "wrote " << *out_path << " (" << log->records.size() << " records, "
      << log->tree_heads.size() << " tree heads";
  if (verdict.has_value()) out << (verdict->ok ? ", verified" : ", NOT VERIFIED");
  out << ")\n";
  if (verdict.has_value() && !verdict->ok) {
    err << "flctl audit report: the log does not verify: " << verdict->message << "\n";
    return 1;
  }
  return 0;
}

int VerifyCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Args> args = ParseArgs(argv, {"log", "audit_key"});
  if (!args.ok()) return Usage(std::string(args.status().message()), err);
  absl::StatusOr<std::string> dir = args->Require("log");
  if (!dir.ok()) return Usage(std::string(dir.status().message()), err);
  absl::StatusOr<std::string> key = args->Require("audit_key");
  if (!key.ok()) return Usage(std::string(key.status().message()), err);
  absl::StatusOr<audit::VerifyResult> result = Verify(*dir, *key);
  if (!result.ok()) {
    err << "flctl audit verify: " << result.status().message() << "\n";
    return 1;
  }
  out << (result->ok ? "VERIFIED " : "NOT VERIFIED ") << *dir << "\n"
      << DescribeVerdict(*result) << "\n";
  if (!result->ok) {
    err << "flctl audit verify: the log does not verify: " << result->message << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

std::string FormatAuditShowHeader() {
  return absl::StrFormat("%6s  %-24s  %-21s  %-36s  %-12s  %5s  %-7s  %s\n", "SEQ", "TIME (UTC)",
                         "EVENT", "ACTOR", "RUN", "ROUND", "OUTCOME", "DETAILS");
}

std::string FormatAuditShowLine(const v1::AuditRecord& r) {
  std::vector<std::string> details;
  if (!r.reason().empty()) details.push_back(absl::StrCat("reason=", Quoted(r.reason())));
  if (r.nodes_size() > 0) {
    std::vector<std::string> nodes;
    for (const std::string& n : r.nodes()) nodes.push_back(report::ShortIdentity(n));
    details.push_back(absl::StrCat("nodes=", absl::StrJoin(nodes, ",")));
  }
  if (r.bytes() > 0) details.push_back(absl::StrCat("bytes=", r.bytes()));
  if (r.samples() > 0) details.push_back(absl::StrCat("samples=", r.samples()));
  const v1::AuditHashes& h = r.hashes();
  const std::pair<const char*, const std::string*> hashes[] = {
      {"artifact", &h.artifact()}, {"before", &h.global_before()},   {"after", &h.global_after()},
      {"update", &h.update()},     {"session", &h.secure_session()}, {"dataset", &h.dataset()}};
  for (const auto& [name, value] : hashes) {
    if (!value->empty()) details.push_back(absl::StrCat(name, "=", Short(*value)));
  }
  if (!r.actor().certificate_sha256().empty()) {
    details.push_back(absl::StrCat("cert=", Short(r.actor().certificate_sha256())));
  }
  std::map<std::string, std::string> params(r.parameters().begin(), r.parameters().end());
  for (const auto& [key, value] : params) {
    details.push_back(absl::StrCat(Value(key), "=", Value(value)));
  }
  for (const v1::AuditSiteMetrics& m : r.metrics()) {
    details.push_back(absl::StrFormat("acc[%s]=%.4f(n=%d)", report::ShortIdentity(m.site()),
                                      m.accuracy(), m.samples()));
  }
  std::string event = v1::AuditEvent_Name(r.event());
  if (event.empty()) event = absl::StrCat(static_cast<int>(r.event()));
  std::string line =
      absl::StrFormat("%6d  %-24s  %-21s  %-36s  %-12s  %5s  %-7s  %s", r.sequence(), r.time(),
                      event, r.actor().identity(), r.run_id().empty() ? "-" : Short(r.run_id()),
                      r.round() == 0 ? "-" : absl::StrCat(r.round()), OutcomeName(r.outcome()),
                      absl::StrJoin(details, " "));
  absl::StripTrailingAsciiWhitespace(&line);
  return line + "\n";
}

int RunAuditCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  if (argv.empty() || argv[0] == "help" || argv[0] == "--help") {
    (argv.empty() ? err : out) << kUsage;
    return argv.empty() ? 2 : 0;
  }
  const std::string sub = argv[0];
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (sub == "show") return ShowCommand(rest, out, err);
  if (sub == "report") return ReportCommand(rest, out, err);
  if (sub == "verify") return VerifyCommand(rest, out, err);
  return Usage(absl::StrCat("unknown subcommand '", sub, "'"), err);
}

}  // namespace tverr::flctl
