#include "coordinator/flctl/pki_command.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/pki/certificate.h"
#include "common/pki/certificate_authority.h"
#include "common/pki/identity.h"
#include "common/pki/key_request.h"
#include "common/status/status_macros.h"
#include "coordinator/flctl/args.h"

namespace tverr::flctl {
namespace {

namespace fs = std::filesystem;

constexpr char kUsage[] =
    R"(usage: flctl pki <command> [options]

The consortium certificate authority. Every certificate names its holder as
fl://<consortium>/<role>/<name>; roles are node, researcher, auditor,
operator and coordinator. Only coordinator certificates take --dns/--ip.

commands:
  init     --ca_dir D --consortium C [--days N]
           create the CA in D (default validity 3650 days)
  issue    --ca_dir D --role R --name N --out_dir O [--dns a,b] [--ip A] [--days N]
           make a key and certificate: O/cert.pem, O/key.pem (0600), O/ca.pem
  request  --consortium C --role R --name N --out_dir O [--dns a,b] [--ip A]
           run where the key must stay: O/key.pem (0600) and O/request.csr
  sign     --ca_dir D --csr F --role R --name N --out F2 [--dns a,b] [--ip A] [--days N]
           sign a request; it must be for exactly that identity
  revoke   --ca_dir D (--serial S | --cert F)
           revoke a certificate and rewrite the CRL
  crl      --ca_dir D
           rewrite the CRL; do it well within its 30 days
  list     --ca_dir D
           list issued certificates
  show     --cert F
           print identity, serial, fingerprint, validity and SANs
)";

// Usage errors (exit 2) travel as statuses with this payload, so that a
// subcommand can report them from wherever it finds them.
constexpr char kUsagePayload[] = "type.tverr/flctl.usage";

absl::Status UsageError(absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("usage"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

std::string PathIn(const std::string& dir, const char* name) {
  return (fs::path(dir) / name).string();
}

// --days: a positive whole number of days, or nullopt when absent.
absl::StatusOr<std::optional<int>> Days(const Args& args) {
  if (!args.Has("days")) return std::nullopt;
  int days = 0;
  if (!absl::SimpleAtoi(args.Get("days"), &days) || days <= 0 || days > 100 * 365) {
    return UsageError(absl::StrCat("--days must be 1..36500, got \"", args.Get("days"), "\""));
  }
  return days;
}

absl::StatusOr<pki::Identity> IdentityFrom(const Args& args, const std::string& consortium) {
  pki::Identity identity;
  identity.consortium = consortium;
  absl::StatusOr<v1::Role> role = pki::ParseRole(args.Get("role"));
  if (!role.ok()) return UsageError(role.status().message());
  identity.role = *role;
  identity.name = args.Get("name");
  return identity;
}

absl::StatusOr<pki::IssueOptions> IssueOptionsFrom(const Args& args,
                                                   const pki::CertificateAuthority& ca) {
  pki::IssueOptions options;
  ASSIGN_OR_RETURN(options.identity, IdentityFrom(args, ca.consortium()));
  options.dns_names = args.GetList("dns");
  options.ip_addresses = args.GetList("ip");
  ASSIGN_OR_RETURN(std::optional<int> days, Days(args));
  if (days) options.not_after = absl::Now() + absl::Hours(24) * *days;
  return options;
}

// Keys are irreplaceable: never overwrite one already deployed.
absl::Status RefuseToOverwrite(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    std::error_code ec;
    if (fs::exists(path, ec)) {
      return absl::AlreadyExistsError(absl::StrCat(path, " already exists; remove it first"));
    }
  }
  return absl::OkStatus();
}

// Creates `dir` if needed, owner-only since it will hold a private key.
absl::Status MakeKeyDir(const std::string& dir) {
  std::error_code ec;
  if (fs::create_directories(dir, ec)) {
    fs::permissions(dir, fs::perms::owner_all, ec);
  }
  if (ec) return absl::UnknownError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return absl::NotFoundError(absl::StrCat("no such file ", path));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  if (!in || !contents) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return contents.str();
}

void PrintCertificate(const pki::CertificateInfo& info, std::ostream& out) {
  out << "  serial:     " << info.serial_hex << "\n"
      << "  sha256:     " << info.sha256_hex << "\n"
      << "  not_before: " << Rfc3339(info.not_before) << "\n"
      << "  not_after:  " << Rfc3339(info.not_after) << "\n";
  if (!info.dns_names.empty())
    out << "  dns:        " << absl::StrJoin(info.dns_names, ",") << "\n";
  if (!info.ip_addresses.empty()) {
    out << "  ip:         " << absl::StrJoin(info.ip_addresses, ",") << "\n";
  }
}

// Where the CRL files are, for operators to copy to every peer's crl_dir.
void PrintCrlFiles(const pki::CertificateAuthority& ca, std::ostream& out) {
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(ca.crl_dir(), ec)) {
    out << "  crl:        " << entry.path().string() << "\n";
  }
  out << "the coordinator checks this directory (its tls.crl_dir) at every handshake; if it "
         "runs elsewhere, copy every file of it there\n";
}

absl::Status RunInit(const Args& args, std::ostream& out) {
  ASSIGN_OR_RETURN(std::optional<int> days, Days(args));
  ASSIGN_OR_RETURN(auto ca,
                   pki::CertificateAuthority::Create(args.Get("ca_dir"), args.Get("consortium"),
                                                     absl::Hours(24) * days.value_or(3650)));
  ASSIGN_OR_RETURN(pki::CertificateInfo info, pki::ParseCertificatePem(ca->certificate_pem()));
  out << "created CA for consortium " << ca->consortium() << " in " << args.Get("ca_dir") << "\n"
      << "  subject:    " << info.subject << "\n";
  PrintCertificate(info, out);
  PrintCrlFiles(*ca, out);
  return absl::OkStatus();
}

absl::Status RunIssue(const Args& args, std::ostream& out) {
  ASSIGN_OR_RETURN(auto ca, pki::CertificateAuthority::Open(args.Get("ca_dir")));
  ASSIGN_OR_RETURN(pki::IssueOptions options, IssueOptionsFrom(args, *ca));
  const std::string dir = args.Get("out_dir");
  const std::string cert_path = PathIn(dir, "cert.pem");
  const std::string key_path = PathIn(dir, "key.pem");
  const std::string ca_path = PathIn(dir, "ca.pem");
  RETURN_IF_ERROR(RefuseToOverwrite({cert_path, key_path}));
  RETURN_IF_ERROR(MakeKeyDir(dir));
  ASSIGN_OR_RETURN(auto issued, ca->Issue(options));
  ASSIGN_OR_RETURN(pki::CertificateInfo info, pki::ParseCertificatePem(issued.second));
  absl::Status saved = pki::WriteSecretFile(key_path, issued.first);
  if (saved.ok()) saved = pki::WritePublicFile(cert_path, issued.second);
  if (saved.ok()) saved = pki::WritePublicFile(ca_path, ca->certificate_pem());
  if (!saved.ok()) {
    return absl::Status(saved.code(),
                        absl::StrCat("certificate ", info.serial_hex,
                                     " was issued but not saved (revoke it): ", saved.message()));
  }
  out << "issued " << info.identity.Uri() << "\n";
  PrintCertificate(info, out);
  out << "  cert:       " << cert_path << "\n"
      << "  key:        " << key_path << " (mode 0600; keep it on the holder's host only)\n"
      << "  ca:         " << ca_path << "\n";
  return absl::OkStatus();
}

absl::Status RunRequest(const Args& args, std::ostream& out) {
  ASSIGN_OR_RETURN(pki::Identity identity, IdentityFrom(args, args.Get("consortium")));
  const std::string dir = args.Get("out_dir");
  const std::string key_path = PathIn(dir, "key.pem");
  const std::string csr_path = PathIn(dir, "request.csr");
  RETURN_IF_ERROR(RefuseToOverwrite({key_path, csr_path}));
  ASSIGN_OR_RETURN(pki::KeyAndRequest made,
                   pki::GenerateKeyAndRequest(identity, args.GetList("dns"), args.GetList("ip")));
  RETURN_IF_ERROR(MakeKeyDir(dir));
  RETURN_IF_ERROR(pki::WriteSecretFile(key_path, made.private_key_pem));
  RETURN_IF_ERROR(pki::WritePublicFile(csr_path, made.csr_pem));
  out << "request for " << identity.Uri() << "\n"
      << "  key:        " << key_path << " (mode 0600; it stays here)\n"
      << "  request:    " << csr_path << " (send this to the CA operator)\n";
  return absl::OkStatus();
}

absl::Status RunSign(const Args& args, std::ostream& out) {
  ASSIGN_OR_RETURN(auto ca, pki::CertificateAuthority::Open(args.Get("ca_dir")));
  ASSIGN_OR_RETURN(pki::IssueOptions options, IssueOptionsFrom(args, *ca));
  ASSIGN_OR_RETURN(std::string csr, ReadTextFile(args.Get("csr")));
  ASSIGN_OR_RETURN(std::string cert, ca->SignRequest(csr, options));
  ASSIGN_OR_RETURN(pki::CertificateInfo info, pki::ParseCertificatePem(cert));
  RETURN_IF_ERROR(pki::WritePublicFile(args.Get("out"), cert));
  out << "signed " << info.identity.Uri() << "\n";
  PrintCertificate(info, out);
  out << "  cert:       " << args.Get("out") << "\n";
  return absl::OkStatus();
}

absl::Status RunRevoke(const Args& args, std::ostream& out) {
  if (args.Has("serial") == args.Has("cert")) {
    return UsageError("give exactly one of --serial and --cert");
  }
  std::string serial = args.Get("serial");
  if (args.Has("cert")) {
    ASSIGN_OR_RETURN(pki::CertificateInfo info, pki::ReadCertificateFile(args.Get("cert")));
    serial = info.serial_hex;
  }
  ASSIGN_OR_RETURN(auto ca, pki::CertificateAuthority::Open(args.Get("ca_dir")));
  RETURN_IF_ERROR(ca->Revoke(serial));
  out << "revoked serial " << serial << "\n";
  PrintCrlFiles(*ca, out);
  return absl::OkStatus();
}

absl::Status RunCrl(const Args& args, std::ostream& out) {
  ASSIGN_OR_RETURN(auto ca, pki::CertificateAuthority::Open(args.Get("ca_dir")));
  RETURN_IF_ERROR(ca->WriteCrl());
  out << "CRL rewritten; valid for 30 days\n";
  PrintCrlFiles(*ca, out);
  return absl::OkStatus();
}

absl::Status RunList(const Args& args, std::ostream& out) {
  ASSIGN_OR_RETURN(auto ca, pki::CertificateAuthority::Open(args.Get("ca_dir")));
  constexpr char kRow[] = "%-32s  %-11s  %-24s  %-25s  %s\n";
  out << absl::StrFormat(kRow, "SERIAL", "ROLE", "NAME", "NOT_AFTER", "STATUS");
  const absl::Time now = absl::Now();
  for (const pki::IssuedCertificate& c : ca->List()) {
    std::string status = "valid";
    if (c.revoked) {
      status = absl::StrCat("revoked ", Rfc3339(c.revoked_at));
    } else if (c.not_after < now) {
      status = "expired";
    }
    out << absl::StrFormat(kRow, c.serial_hex, c.role, c.name, Rfc3339(c.not_after), status);
  }
  return absl::OkStatus();
}

absl::Status RunShow(const Args& args, std::ostream& out) {
  ASSIGN_OR_RETURN(pki::CertificateInfo info, pki::ReadCertificateFile(args.Get("cert")));
  out << "identity:     " << (info.is_ca ? "(CA certificate)" : info.identity.Uri()) << "\n"
      << "  subject:    " << info.subject << "\n"
      << "  issuer:     " << info.issuer << "\n";
  PrintCertificate(info, out);
  return absl::OkStatus();
}

struct Subcommand {
  const char* name;
  std::set<std::string> options;      // All take a value.
  std::vector<std::string> required;  // Checked before Run: missing ones are usage errors.
  absl::Status (*run)(const Args& args, std::ostream& out);
};

const std::vector<Subcommand>& Subcommands() {
  static const auto* const kSubcommands = new std::vector<Subcommand>{
      {"init", {"ca_dir", "consortium", "days"}, {"ca_dir", "consortium"}, RunInit},
      {"issue",
       {"ca_dir", "role", "name", "out_dir", "dns", "ip", "days"},
       {"ca_dir", "role", "name", "out_dir"},
       RunIssue},
      {"request",
       {"consortium", "role", "name", "out_dir", "dns", "ip"},
       {"consortium", "role", "name", "out_dir"},
       RunRequest},
      {"sign",
       {"ca_dir", "csr", "role", "name", "out", "dns", "ip", "days"},
       {"ca_dir", "csr", "role", "name", "out"},
       RunSign},
      {"revoke", {"ca_dir", "serial", "cert"}, {"ca_dir"}, RunRevoke},
      {"crl", {"ca_dir"}, {"ca_dir"}, RunCrl},
      {"list", {"ca_dir"}, {"ca_dir"}, RunList},
      {"show", {"cert"}, {"cert"}, RunShow},
  };
  return *kSubcommands;
}

// Parses and runs `sub` on `words`; usage errors are marked as such.
absl::Status RunSubcommand(const Subcommand& sub, const std::vector<std::string>& words,
                           std::ostream& out) {
  absl::StatusOr<Args> args = ParseArgs(words, sub.options);
  if (!args.ok()) return UsageError(args.status().message());
  if (!args->positional.empty()) {
    return UsageError(absl::StrCat("unexpected argument \"", args->positional[0], "\""));
  }
  for (const std::string& name : sub.required) {
    if (absl::Status present = args->Require(name).status(); !present.ok()) {
      return UsageError(present.message());
    }
  }
  return sub.run(*args, out);
}

}  // namespace

int RunPkiCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << kUsage;
    return 2;
  }
  if (args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    out << kUsage;
    return 0;
  }
  for (const Subcommand& sub : Subcommands()) {
    if (args[0] != sub.name) continue;
    absl::Status status =
        RunSubcommand(sub, std::vector<std::string>(args.begin() + 1, args.end()), out);
    if (status.ok()) return 0;
    err << "flctl pki " << sub.name << ": " << status.message() << "\n";
    if (!IsUsageError(status)) return 1;
    err << "run `flctl pki help` for usage\n";
    return 2;
  }
  err << "flctl pki: unknown command \"" << args[0] << "\"\n" << kUsage;
  return 2;
}

}  // namespace tverr::flctl
