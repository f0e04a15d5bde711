#include "common/pki/openssl_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace tverr::pki::internal {

absl::Status PosixError(int err, absl::string_view what) {
  if (err == 0) return absl::InternalError(what);
  return absl::ErrnoToStatus(err, what);
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  std::string contents;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      close(fd);
      return absl::ErrnoToStatus(saved, absl::StrCat("cannot read ", path));
    }
    if (n == 0) break;
    contents.append(buf, n);
  }
  close(fd);
  return contents;
}

std::string JoinPath(const std::string& dir, absl::string_view name) {
  return (std::filesystem::path(dir) / std::string(name)).string();
}

BioPtr MemBio(absl::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string MemBioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, len);
}

absl::StatusOr<std::string> PrivateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Internal("cannot encode private key");
  }
  return MemBioContents(bio.get());
}

absl::StatusOr<EvpPkeyPtr> GenerateP256Key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return Internal("P-256 key generation");
  return key;
}

NameEntries IdentitySubject(const Identity& identity) {
  return {{NID_organizationName, identity.consortium},
          {NID_organizationalUnitName, RoleName(identity.role)},
          {NID_commonName, identity.name}};
}

absl::Status AddNameEntries(X509_NAME* name, const NameEntries& entries) {
  for (const auto& [nid, value] : entries) {
    if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1) {
      return Internal("cannot build subject name");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDnsName(absl::string_view dns) {
  bool ok = !dns.empty() && dns.size() <= 253 && dns.front() != '.' && dns.front() != '-';
  for (char c : dns) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.');
  }
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("invalid DNS name \"", dns, "\""));
  return absl::OkStatus();
}

absl::Status AddName(GENERAL_NAMES* names, int type, Asn1StringPtr value) {
  GeneralNamePtr name(GENERAL_NAME_new());
  if (name == nullptr) return Internal("GENERAL_NAME_new");
  GENERAL_NAME_set0_value(name.get(), type, value.release());
  if (sk_GENERAL_NAME_push(names, name.get()) == 0) return Internal("sk_GENERAL_NAME_push");
  name.release();  // Owned by `names` now.
  return absl::OkStatus();
}

absl::Status AddIa5Name(GENERAL_NAMES* names, int type, absl::string_view text) {
  Asn1StringPtr s(ASN1_IA5STRING_new());
  if (s == nullptr || ASN1_STRING_set(s.get(), text.data(), static_cast<int>(text.size())) != 1) {
    return Internal("ASN1_STRING_set");
  }
  return AddName(names, type, std::move(s));
}

absl::StatusOr<X509ExtensionPtr> MakeSanExtension(const Identity& identity,
                                                  const std::vector<std::string>& dns_names,
                                                  const std::vector<std::string>& ip_addresses) {
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (names == nullptr) return Internal("GENERAL_NAMES_new");
  RETURN_IF_ERROR(AddIa5Name(names.get(), GEN_URI, identity.Uri()));
  for (const std::string& dns : dns_names) {
    RETURN_IF_ERROR(ValidateDnsName(dns));
    RETURN_IF_ERROR(AddIa5Name(names.get(), GEN_DNS, dns));
  }
  for (const std::string& ip : ip_addresses) {
    Asn1StringPtr octets(a2i_IPADDRESS(ip.c_str()));
    if (octets == nullptr) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat("invalid IP address \"", ip, "\""));
    }
    RETURN_IF_ERROR(AddName(names.get(), GEN_IPADD, std::move(octets)));
  }
  X509ExtensionPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, /*crit=*/0, names.get()));
  if (ext == nullptr) return Internal("encode subjectAltName");
  return ext;
}

SanNames ReadSanNames(const GENERAL_NAMES* names) {
  SanNames out;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_URI) {
      std::string uri = Asn1String(name->d.uniformResourceIdentifier);
      if (absl::StartsWith(uri, "fl://")) out.fl_uris.push_back(std::move(uri));
    } else if (name->type == GEN_DNS) {
      out.dns_names.push_back(Asn1String(name->d.dNSName));
    } else if (name->type == GEN_IPADD) {
      out.ip_addresses.push_back(IpText(name->d.iPAddress));
    }
  }
  return out;
}

std::string Asn1String(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     ASN1_STRING_length(s));
}

std::string IpText(const ASN1_OCTET_STRING* ip) {
  char buf[INET6_ADDRSTRLEN] = {0};
  const int len = ASN1_STRING_length(ip);
  const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : AF_UNSPEC;
  if (family == AF_UNSPEC ||
      inet_ntop(family, ASN1_STRING_get0_data(ip), buf, sizeof(buf)) == nullptr) {
    return absl::StrCat("<", len, "-byte address>");
  }
  return buf;
}

std::string NormalizeSerial(absl::string_view serial) {
  std::string s = absl::AsciiStrToLower(serial);
  if (absl::StartsWith(s, "0x")) s.erase(0, 2);
  s.erase(std::remove(s.begin(), s.end(), ':'), s.end());
  size_t first = s.find_first_not_of('0');
  return first == std::string::npos ? "0" : s.substr(first);
}

absl::StatusOr<std::string> SerialHex(const ASN1_INTEGER* serial) {
  BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (bn == nullptr) return OpenSslError(absl::StatusCode::kInvalidArgument, "bad serial number");
  char* hex = BN_bn2hex(bn.get());
  if (hex == nullptr) return Internal("cannot print serial");
  // BN_bn2hex prints whole bytes in upper case; the documented form is lower
  // case with no leading zeros.
  std::string out = NormalizeSerial(hex);
  OPENSSL_free(hex);
  return out;
}

absl::StatusOr<Asn1IntegerPtr> SerialToAsn1(const std::string& serial_hex) {
  BIGNUM* raw = nullptr;
  if (BN_hex2bn(&raw, serial_hex.c_str()) != static_cast<int>(serial_hex.size())) {
    BN_free(raw);
    return absl::InvalidArgumentError(absl::StrCat("serial \"", serial_hex, "\" is not hex"));
  }
  BignumPtr bn(raw);
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (serial == nullptr) return Internal("BN_to_ASN1_INTEGER");
  return serial;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

absl::StatusOr<Asn1TimePtr> ToAsn1Time(absl::Time t) {
  Asn1TimePtr out(ASN1_TIME_set(nullptr, absl::ToTimeT(t)));
  if (out == nullptr) return Internal(absl::StrCat("cannot encode time ", Rfc3339(t)));
  return out;
}

absl::StatusOr<absl::Time> AsnTime(const ASN1_TIME* t, absl::string_view what) {
  struct tm tm;
  std::memset(&tm, 0, sizeof(tm));
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, absl::StrCat("bad ", what, " time"));
  }
  // ASN1 times are UTC; timegm (not mktime) keeps the local zone out of it.
  return absl::FromTimeT(timegm(&tm));
}

}  // namespace tverr::pki::internal
