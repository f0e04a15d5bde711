#include "common/audit/fast_record_json.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace tverr::audit::internal {
namespace {

using v1::AuditRecord;

// ---- Printer ----

// How the printer treats each byte in a string.
enum CharClass : uint8_t { kPlain, kEscape, kDecline };

constexpr std::array<uint8_t, 256> MakeCharClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    if (c == 0 || c >= 0x80) {
      t[c] = kDecline;
    } else if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '<' || c == '>') {
      t[c] = kEscape;
    } else {
      t[c] = kPlain;
    }
  }
  return t;
}
constexpr std::array<uint8_t, 256> kCharClass = MakeCharClasses();

// Protobuf's JSON string escaping restricted to ASCII: `"` and `\` escaped,
// `<` and `>` as \u003c / \u003e, control characters as \b \t \n \f \r or
// \u00xx. Declines NUL and every byte >= 0x80 (UTF-8 handling and
// protobuf's escaping of some non-ASCII code points are left to protobuf).
bool AppendString(absl::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the current run of plain characters
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const uint8_t cls = kCharClass[c];
    if (cls == kPlain) continue;
    if (cls == kDecline) return false;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\r':
        out->append("\\r");
        break;
      default:  // < > and the other control characters
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xf]);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
  return true;
}

// Protobuf's SimpleDtoa: 15 significant digits if they read back as the
// same double, else 17. Declines NaN and infinities (printed as strings).
bool AppendDouble(double d, std::string* out) {
  if (!std::isfinite(d)) return false;
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.15g", d);
  if (std::strtod(buf, nullptr) != d) std::snprintf(buf, sizeof(buf), "%.17g", d);
  if (std::strchr(buf, ',') != nullptr) return false;  // a locale's radix: leave it to protobuf
  out->append(buf);
  return true;
}

// Writes `"key":` with the comma the previous member needs.
class Members {
 public:
  explicit Members(std::string* out) : out_(out) { out_->push_back('{'); }
  std::string* Key(absl::string_view key) {
    out_->append(first_ ? "\"" : ",\"");
    first_ = false;
    out_->append(key.data(), key.size());
    out_->append("\":");
    return out_;
  }
  void End() { out_->push_back('}'); }

 private:
  std::string* out_;
  bool first_ = true;
};

bool OptString(Members& m, absl::string_view key, const std::string& value) {
  return value.empty() || AppendString(value, m.Key(key));
}

void OptUint64(Members& m, absl::string_view key, uint64_t value) {
  if (value == 0) return;
  std::string* out = m.Key(key);
  out->push_back('"');
  absl::StrAppend(out, value);
  out->push_back('"');
}

// A proto3 double is present unless its bits are all zero. -0.0 is
// declined: protobuf prints it as -0 but reads -0 back as +0, so
// RecordToJson stores it as 0 and a line holding -0 is not canonical.
bool OptDouble(Members& m, absl::string_view key, double value) {
  if (value == 0) return !std::signbit(value);
  return AppendDouble(value, m.Key(key));
}

}  // namespace

bool FastRecordToJson(const AuditRecord& r, std::string* out) {
  Members m(out);
  if (r.schema_version() != 0) absl::StrAppend(m.Key("schema_version"), r.schema_version());
  OptUint64(m, "sequence", r.sequence());
  if (!OptString(m, "previous_leaf_sha256", r.previous_leaf_sha256())) return false;
  if (!OptString(m, "time", r.time())) return false;
  if (r.has_actor()) {
    Members a(m.Key("actor"));
    if (!OptString(a, "identity", r.actor().identity()) ||
        !OptString(a, "certificate_sha256", r.actor().certificate_sha256())) {
      return false;
    }
    a.End();
  }
  if (r.event() != 0) {
    if (!v1::AuditEvent_IsValid(r.event())) return false;  // protobuf prints the number
    if (!AppendString(v1::AuditEvent_Name(r.event()), m.Key("event"))) return false;
  }
  if (!OptString(m, "run_id", r.run_id())) return false;
  OptUint64(m, "round", r.round());
  if (r.has_hashes()) {
    const v1::AuditHashes& h = r.hashes();
    Members hm(m.Key("hashes"));
    if (!OptString(hm, "run_spec", h.run_spec()) || !OptString(hm, "artifact", h.artifact()) ||
        !OptString(hm, "global_before", h.global_before()) ||
        !OptString(hm, "global_after", h.global_after()) || !OptString(hm, "update", h.update()) ||
        !OptString(hm, "secure_session", h.secure_session()) ||
        !OptString(hm, "dataset", h.dataset())) {
      return false;
    }
    hm.End();
  }
  if (r.outcome() != 0) {
    if (!v1::AuditOutcome_IsValid(r.outcome())) return false;
    if (!AppendString(v1::AuditOutcome_Name(r.outcome()), m.Key("outcome"))) return false;
  }
  if (!OptString(m, "reason", r.reason())) return false;
  if (r.nodes_size() > 0) {
    std::string* o = m.Key("nodes");
    o->push_back('[');
    for (int i = 0; i < r.nodes_size(); ++i) {
      if (i > 0) o->push_back(',');
      if (!AppendString(r.nodes(i), o)) return false;
    }
    o->push_back(']');
  }
  OptUint64(m, "bytes", r.bytes());
  OptUint64(m, "samples", r.samples());
  if (!r.parameters().empty()) {
    // Deterministic serialisation sorts map entries by key bytes.
    std::vector<const google::protobuf::MapPair<std::string, std::string>*> entries;
    entries.reserve(r.parameters().size());
    for (const auto& kv : r.parameters()) entries.push_back(&kv);
    std::sort(entries.begin(), entries.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    std::string* o = m.Key("parameters");
    o->push_back('{');
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i > 0) o->push_back(',');
      if (!AppendString(entries[i]->first, o)) return false;
      o->push_back(':');
      if (!AppendString(entries[i]->second, o)) return false;
    }
    o->push_back('}');
  }
  if (r.metrics_size() > 0) {
    std::string* o = m.Key("metrics");
    o->push_back('[');
    for (int i = 0; i < r.metrics_size(); ++i) {
      if (i > 0) o->push_back(',');
      const v1::AuditSiteMetrics& s = r.metrics(i);
      Members sm(o);
      if (!OptString(sm, "site", s.site())) return false;
      OptUint64(sm, "samples", s.samples());
      if (!OptDouble(sm, "accuracy", s.accuracy()) || !OptDouble(sm, "loss", s.loss())) {
        return false;
      }
      sm.End();
    }
    o->push_back(']');
  }
  m.End();
  return true;
}

bool FastTreeHeadToJson(const v1::AuditTreeHead& h, std::string* out) {
  Members m(out);
  OptUint64(m, "tree_size", h.tree_size());
  if (!OptString(m, "root_sha256", h.root_sha256()) || !OptString(m, "time", h.time()) ||
      !OptString(m, "run_id", h.run_id())) {
    return false;
  }
  OptUint64(m, "round", h.round());
  if (!OptString(m, "signature", h.signature()) || !OptString(m, "key_id", h.key_id())) {
    return false;
  }
  m.End();
  return true;
}

// ---- Parser ----

namespace {

class Cursor {
 public:
  explicit Cursor(absl::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  bool AtEnd() const { return p_ == end_; }
  bool Eat(char c) {
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool Peek(char c) const { return p_ < end_ && *p_ == c; }

  // A member name: a string without escapes, returned as a view.
  bool Key(absl::string_view* key) {
    if (!Eat('"')) return false;
    const char* start = p_;
    while (p_ < end_ && *p_ != '"') {
      if (*p_ == '\\') return false;
      ++p_;
    }
    if (p_ == end_) return false;
    *key = absl::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    return Eat(':');
  }

  // A string of ASCII characters; escapes \" \\ \/ \b \f \n \r \t and
  // \u00xx (xx < 0x80, non-zero).
  bool String(std::string* out) {
    out->clear();
    if (!Eat('"')) return false;
    while (p_ < end_) {
      // A run of characters that stand for themselves, appended at once.
      const char* run = p_;
      while (p_ < end_ && kCharClass[static_cast<unsigned char>(*p_)] == kPlain) ++p_;
      out->append(run, static_cast<size_t>(p_ - run));
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_++);
      if (c == '"') return true;
      if (c >= 0x80 || c < 0x20) return false;
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        continue;
      }
      if (p_ == end_) return false;
      switch (*p_++) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          if (end_ - p_ < 4 || p_[0] != '0' || p_[1] != '0') return false;
          int v = 0;
          for (int i = 2; i < 4; ++i) {
            const char h = p_[i];
            v <<= 4;
            if (h >= '0' && h <= '9') {
              v |= h - '0';
            } else if (h >= 'a' && h <= 'f') {
              v |= h - 'a' + 10;
            } else if (h >= 'A' && h <= 'F') {
              v |= h - 'A' + 10;
            } else {
              return false;
            }
          }
          if (v == 0 || v >= 0x80) return false;
          out->push_back(static_cast<char>(v));
          p_ += 4;
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  // Decimal digits into a uint64 (no sign, no overflow).
  bool Digits(uint64_t* value) {
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
    uint64_t v = 0;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
      const uint64_t d = static_cast<uint64_t>(*p_ - '0');
      if (v > (UINT64_MAX - d) / 10) return false;
      v = v * 10 + d;
      ++p_;
    }
    *value = v;
    return true;
  }

  bool QuotedUint64(uint64_t* value) { return Eat('"') && Digits(value) && Eat('"'); }

  bool Uint32(uint32_t* value) {
    uint64_t v;
    if (!Digits(&v) || v > UINT32_MAX) return false;
    *value = static_cast<uint32_t>(v);
    return true;
  }

  bool Double(double* value) {
    const char* start = p_;
    while (p_ < end_ && *p_ != '\0' && std::strchr("0123456789+-.eE", *p_) != nullptr) ++p_;
    const size_t n = static_cast<size_t>(p_ - start);
    if (n == 0 || n >= 40) return false;
    char buf[40];
    std::memcpy(buf, start, n);
    buf[n] = '\0';
    char* parsed_end = nullptr;
    *value = std::strtod(buf, &parsed_end);
    return parsed_end == buf + n;
  }

  // `{` members `}`, calling member(key) with the cursor on the value.
  template <typename Member>
  bool Object(const Member& member) {
    if (!Eat('{')) return false;
    if (Eat('}')) return true;
    do {
      absl::string_view key;
      if (!Key(&key) || !member(key)) return false;
    } while (Eat(','));
    return Eat('}');
  }

  // `[` elements `]`, calling element() with the cursor on each.
  template <typename Element>
  bool Array(const Element& element) {
    if (!Eat('[')) return false;
    if (Eat(']')) return true;
    do {
      if (!element()) return false;
    } while (Eat(','));
    return Eat(']');
  }

 private:
  const char* p_;
  const char* end_;
};

bool StringField(Cursor& c, std::string* field) { return c.String(field); }

}  // namespace

bool FastParseRecord(absl::string_view line, AuditRecord* r) {
  r->Clear();
  Cursor c(line);
  std::string scratch;
  uint64_t u64 = 0;
  const bool ok = c.Object([&](absl::string_view key) -> bool {
    if (key == "schema_version") {
      uint32_t v;
      if (!c.Uint32(&v)) return false;
      r->set_schema_version(v);
      return true;
    }
    if (key == "sequence") {
      if (!c.QuotedUint64(&u64)) return false;
      r->set_sequence(u64);
      return true;
    }
    if (key == "previous_leaf_sha256") return StringField(c, r->mutable_previous_leaf_sha256());
    if (key == "time") return StringField(c, r->mutable_time());
    if (key == "actor") {
      v1::AuditActor* a = r->mutable_actor();
      return c.Object([&](absl::string_view k) -> bool {
        if (k == "identity") return StringField(c, a->mutable_identity());
        if (k == "certificate_sha256") return StringField(c, a->mutable_certificate_sha256());
        return false;
      });
    }
    if (key == "event") {
      v1::AuditEvent e;
      if (!c.String(&scratch) || !v1::AuditEvent_Parse(scratch, &e)) return false;
      r->set_event(e);
      return true;
    }
    if (key == "run_id") return StringField(c, r->mutable_run_id());
    if (key == "round") {
      if (!c.QuotedUint64(&u64)) return false;
      r->set_round(u64);
      return true;
    }
    if (key == "hashes") {
      v1::AuditHashes* h = r->mutable_hashes();
      return c.Object([&](absl::string_view k) -> bool {
        if (k == "run_spec") return StringField(c, h->mutable_run_spec());
        if (k == "artifact") return StringField(c, h->mutable_artifact());
        if (k == "global_before") return StringField(c, h->mutable_global_before());
        if (k == "global_after") return StringField(c, h->mutable_global_after());
        if (k == "update") return StringField(c, h->mutable_update());
        if (k == "secure_session") return StringField(c, h->mutable_secure_session());
        if (k == "dataset") return StringField(c, h->mutable_dataset());
        return false;
      });
    }
    if (key == "outcome") {
      v1::AuditOutcome o;
      if (!c.String(&scratch) || !v1::AuditOutcome_Parse(scratch, &o)) return false;
      r->set_outcome(o);
      return true;
    }
    if (key == "reason") return StringField(c, r->mutable_reason());
    if (key == "nodes") {
      return c.Array([&]() { return StringField(c, r->add_nodes()); });
    }
    if (key == "bytes") {
      if (!c.QuotedUint64(&u64)) return false;
      r->set_bytes(u64);
      return true;
    }
    if (key == "samples") {
      if (!c.QuotedUint64(&u64)) return false;
      r->set_samples(u64);
      return true;
    }
    if (key == "parameters") {
      // Map keys are arbitrary strings (escapes included), so not Object().
      auto* params = r->mutable_parameters();
      if (!c.Eat('{')) return false;
      if (c.Eat('}')) return true;
      std::string map_key;
      do {
        if (!c.String(&map_key) || !c.Eat(':') || !c.String(&scratch)) return false;
        (*params)[map_key] = scratch;
      } while (c.Eat(','));
      return c.Eat('}');
    }
    if (key == "metrics") {
      return c.Array([&]() {
        v1::AuditSiteMetrics* s = r->add_metrics();
        return c.Object([&](absl::string_view k) -> bool {
          if (k == "site") return StringField(c, s->mutable_site());
          if (k == "samples") {
            if (!c.QuotedUint64(&u64)) return false;
            s->set_samples(u64);
            return true;
          }
          double d;
          if (k == "accuracy") {
            if (!c.Double(&d)) return false;
            s->set_accuracy(d);
            return true;
          }
          if (k == "loss") {
            if (!c.Double(&d)) return false;
            s->set_loss(d);
            return true;
          }
          return false;
        });
      });
    }
    return false;
  });
  return ok && c.AtEnd();
}

bool FastParseTreeHead(absl::string_view line, v1::AuditTreeHead* h) {
  h->Clear();
  Cursor c(line);
  uint64_t u64 = 0;
  const bool ok = c.Object([&](absl::string_view key) -> bool {
    if (key == "tree_size") {
      if (!c.QuotedUint64(&u64)) return false;
      h->set_tree_size(u64);
      return true;
    }
    if (key == "root_sha256") return StringField(c, h->mutable_root_sha256());
    if (key == "time") return StringField(c, h->mutable_time());
    if (key == "run_id") return StringField(c, h->mutable_run_id());
    if (key == "round") {
      if (!c.QuotedUint64(&u64)) return false;
      h->set_round(u64);
      return true;
    }
    if (key == "signature") return StringField(c, h->mutable_signature());
    if (key == "key_id") return StringField(c, h->mutable_key_id());
    return false;
  });
  return ok && c.AtEnd();
}

bool FastParseCanonicalRecord(absl::string_view line, v1::AuditRecord* record,
                              std::string* scratch) {
  if (!FastParseRecord(line, record)) return false;
  scratch->clear();
  return FastRecordToJson(*record, scratch) && *scratch == line;
}

bool FastParseCanonicalTreeHead(absl::string_view line, v1::AuditTreeHead* head,
                                std::string* scratch) {
  if (!FastParseTreeHead(line, head)) return false;
  scratch->clear();
  return FastTreeHeadToJson(*head, scratch) && *scratch == line;
}

}  // namespace tverr::audit::internal
