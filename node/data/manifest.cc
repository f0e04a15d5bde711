#include "node/data/manifest.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace tverr::node {

absl::StatusOr<std::vector<std::string>> SplitCsvLine(absl::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back().push_back(c);
    }
  }
  if (quoted) return absl::InvalidArgumentError("unterminated quoted field");
  for (std::string& f : fields) f = std::string(absl::StripAsciiWhitespace(f));
  return fields;
}

namespace {

std::optional<Split> ParseSplit(absl::string_view s) {
  if (s == "train") return Split::kTrain;
  if (s == "validation" || s == "val") return Split::kValidation;
  if (s == "test") return Split::kTest;
  return std::nullopt;
}

}  // namespace

absl::StatusOr<Manifest> ParseManifest(absl::string_view text,
                                       const std::vector<std::string>& labels) {
  std::map<std::string, int64_t> label_index;
  for (size_t i = 0; i < labels.size(); ++i) label_index[labels[i]] = static_cast<int64_t>(i);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  Manifest out;
  int key_col = -1, label_col = -1, split_col = -1;
  int row = 0;
  bool header_seen = false;
  for (absl::string_view raw : lines) {
    ++row;
    absl::string_view line = absl::StripTrailingAsciiWhitespace(raw);  // also drops '\r'
    if (!header_seen && row == 1 && line.size() >= 3 &&
        line.substr(0, 3) == "\xEF\xBB\xBF") {
      line.remove_prefix(3);  // UTF-8 byte order mark from spreadsheet exports
    }
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    absl::StatusOr<std::vector<std::string>> fields = SplitCsvLine(line);
    if (!header_seen) {
      if (!fields.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("manifest header: ", fields.status().message()));
      }
      for (int i = 0; i < static_cast<int>(fields->size()); ++i) {
        std::string name = absl::AsciiStrToLower((*fields)[i]);
        if (name == "sop_instance_uid" || name == "study_instance_uid") {
          if (key_col >= 0) {
            return absl::InvalidArgumentError(
                "manifest header names both sop_instance_uid and study_instance_uid");
          }
          key_col = i;
          out.key = name == "sop_instance_uid" ? Manifest::Key::kSopInstanceUid
                                               : Manifest::Key::kStudyInstanceUid;
        } else if (name == "label") {
          label_col = i;
        } else if (name == "split") {
          split_col = i;
        }
      }
      if (key_col < 0 || label_col < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "manifest header must name a key column (sop_instance_uid or study_instance_uid) "
            "and a label column; found: ",
            absl::StrJoin(*fields, ",")));
      }
      header_seen = true;
      continue;
    }
    auto issue = [&](std::string message) { out.issues.push_back({row, std::move(message)}); };
    if (!fields.ok()) {
      issue(std::string(fields.status().message()));
      continue;
    }
    const int needed = std::max({key_col, label_col, split_col}) + 1;
    if (static_cast<int>(fields->size()) < needed) {
      issue(absl::StrCat("has ", fields->size(), " fields; expected at least ", needed));
      continue;
    }
    const std::string& key = (*fields)[key_col];
    const std::string& label = (*fields)[label_col];
    if (key.empty()) {
      issue("empty key");
      continue;
    }
    auto label_it = label_index.find(label);
    if (label_it == label_index.end()) {
      issue(absl::StrCat("unknown label '", label, "' (the run's labels are: ",
                         absl::StrJoin(labels, ", "), ")"));
      continue;
    }
    ManifestEntry entry;
    entry.label = label_it->second;
    entry.row = row;
    if (split_col >= 0 && !(*fields)[split_col].empty()) {
      entry.split = ParseSplit((*fields)[split_col]);
      if (!entry.split) {
        issue(absl::StrCat("unknown split '", (*fields)[split_col],
                           "' (expected train, validation or test)"));
        continue;
      }
    }
    auto [it, inserted] = out.entries.emplace(key, entry);
    if (!inserted) {
      if (it->second.label != entry.label || it->second.split != entry.split) {
        issue(absl::StrCat("key listed again (first at line ", it->second.row,
                           ") with a different label or split; both rows ignored"));
        it->second.label = -1;  // conflicting: unusable
      } else {
        issue(absl::StrCat("key listed again (first at line ", it->second.row, ")"));
      }
    }
  }
  if (!header_seen) return absl::InvalidArgumentError("manifest is empty (no header row)");
  // Drop keys made unusable by conflicts.
  for (auto it = out.entries.begin(); it != out.entries.end();) {
    it = it->second.label < 0 ? out.entries.erase(it) : std::next(it);
  }
  return out;
}

absl::StatusOr<Manifest> ReadManifest(const std::string& path,
                                      const std::vector<std::string>& labels) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read manifest ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  absl::StatusOr<Manifest> m = ParseManifest(ss.str(), labels);
  if (!m.ok()) {
    return absl::Status(m.status().code(), absl::StrCat(path, ": ", m.status().message()));
  }
  return m;
}

}  // namespace tverr::node
