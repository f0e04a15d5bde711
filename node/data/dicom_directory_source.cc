#include "node/data/dicom_directory_source.h"

#include <glog/logging.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>
#include <thread>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/crypto/sha256.h"
#include "common/status/status_macros.h"
#include "node/data/dicom_file.h"
#include "node/data/header_index.h"
#include "node/data/manifest.h"
#include "node/data/pixel_pipeline.h"
#include "node/data/split.h"

namespace tverr::node {
namespace fs = std::filesystem;

namespace {

struct Item {
  std::string path;  // absolute
  FileStamp stamp;
  std::string cache_key;
  SummaryItem meta;
  std::string patient_key;
  std::optional<Split> manifest_split;
  std::vector<float> pixels;  // when kept in memory (see memory_budget_bytes)
  bool usable = true;
};

std::optional<FileStamp> Stamp(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return FileStamp{static_cast<uint64_t>(st.st_size),
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

// Bumped when ReadDicomHeader may judge the same file differently, so that
// remembered headers from older versions are read again.
constexpr int kHeaderReaderVersion = 2;

// 32 random bytes kept next to the cache (mode 0600). Losing it only
// changes patient keys; splits stay patient-level.
absl::StatusOr<std::string> LoadOrCreateSecret(const std::string& path) {
  std::string secret;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    secret.resize(64);
    ssize_t n = read(fd, secret.data(), secret.size());
    close(fd);
    if (n == 32) {
      secret.resize(32);
      return secret;
    }
    return absl::DataLossError(absl::StrCat(path, " is damaged; remove the cache directory"));
  }
  fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat("cannot create ", path));
  std::string hex = crypto::RandomHex(32);
  secret.resize(32);
  for (size_t i = 0; i < 32; ++i) secret[i] = static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  bool ok = write(fd, secret.data(), secret.size()) == 32 && fsync(fd) == 0;
  close(fd);
  if (!ok) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return secret;
}

absl::Status ValidateOptions(const DirectorySourceOptions& o) {
  if (o.source.directory().empty()) {
    return absl::InvalidArgumentError("data source: directory is required");
  }
  if (o.source.manifest().empty()) {
    return absl::InvalidArgumentError("data source: manifest is required");
  }
  if (o.labels.empty()) return absl::InvalidArgumentError("data source: the label set is empty");
  if (std::set<std::string>(o.labels.begin(), o.labels.end()).size() != o.labels.size()) {
    return absl::InvalidArgumentError("data source: the label set has duplicates");
  }
  RETURN_IF_ERROR(ValidateInputSpec(o.input));
  return ValidateSplitFractions(o.fractions);
}

}  // namespace

struct DicomDirectorySource::Impl {
  DirectorySourceOptions options;
  std::string pipeline;
  std::optional<TensorCache> cache;
  std::vector<Item> items;  // usable examples only, after Open()
  LoadReport report;
  DatasetSummary summary;

  // An issue about a file: logged by tag, reported with its path.
  void FileIssue(const std::string& absolute, std::string problem, std::string message) {
    const std::string relative = Relative(absolute);
    AddIssue(FileTag(relative), relative, std::move(problem), std::move(message));
  }

  void AddIssue(std::string where, std::string path, std::string problem, std::string message) {
    LOG(WARNING) << "data: skipping " << where << ": " << message;
    ++report.problems[problem];
    report.issues.push_back(
        {std::move(where), std::move(path), std::move(problem), std::move(message)});
  }

  std::string Relative(const std::string& path) const {
    return fs::path(path).lexically_relative(options.source.directory()).string();
  }

  // Log-safe name of a file: export folders and file names may carry
  // patient names or IDs, a hash of the path does not.
  static std::string FileTag(const std::string& relative) {
    return absl::StrCat("file ", crypto::ToHex(crypto::Sha256(relative)).substr(0, 8));
  }

  absl::StatusOr<std::vector<float>> Pixels(const Item& item, bool count) {
    if (cache) {
      absl::StatusOr<std::vector<float>> cached = cache->Get(item.cache_key);
      if (cached.ok()) {
        if (count) ++hits;
        return cached;
      }
      if (absl::IsDataLoss(cached.status())) {
        LOG(WARNING) << "data: rebuilding " << cached.status().message();
        if (count) ++corrupt;
      } else if (count) {
        ++misses;
      }
    }
    ASSIGN_OR_RETURN(std::vector<float> pixels, DecodeDicomFile(item.path, options.input));
    if (cache) {
      if (absl::Status s = cache->Put(item.cache_key, pixels); !s.ok()) {
        LOG(WARNING) << "data: " << s.message();
      }
    }
    return pixels;
  }

  // Worker threads for `n` pieces of work.
  unsigned Threads(size_t n) const {
    unsigned t = options.threads > 0 ? static_cast<unsigned>(options.threads)
                                     : std::max(1u, std::thread::hardware_concurrency());
    return static_cast<unsigned>(std::min<size_t>(t, std::max<size_t>(1, n)));
  }

  absl::Status Scan(const Manifest& manifest, HeaderIndex* index);
  std::string secret;  // keys the patient hash
  void AssignSplits();
  void Prepare();
  void Finish();

  std::atomic<int64_t> hits{0}, misses{0}, corrupt{0};
};

absl::Status DicomDirectorySource::Impl::Scan(const Manifest& manifest, HeaderIndex* index) {
  std::vector<std::string> paths;
  std::error_code ec;
  fs::recursive_directory_iterator it(options.source.directory(),
                                      fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("cannot list ", options.source.directory(), ": ", ec.message()));
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    // Hidden files and directories (journals, snapshots, temporary files of
    // a retrieve in progress) are not data.
    if (it->path().filename().string().rfind('.', 0) == 0) {
      it.disable_recursion_pending();
      continue;
    }
    // A dangling link or a file that vanished is this file's problem, not
    // the load's: it is reported below when it cannot be read.
    std::error_code entry_ec;
    if (it->is_directory(entry_ec)) continue;
    paths.push_back(it->path().string());
  }
  if (ec) {
    // A directory that vanished mid-walk: keep what was found, say so.
    AddIssue("directory walk", "", "walk_incomplete",
             absl::StrCat("listing stopped early: ", ec.message()));
  }
  std::sort(paths.begin(), paths.end());  // deterministic order

  // Stat and read headers in parallel (the slow part); match sequentially.
  struct Scanned {
    std::optional<FileStamp> stamp;
    std::optional<HeaderResult> header;
    bool from_index = false;
    std::string cache_key;
  };
  std::vector<Scanned> scanned(paths.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < paths.size(); i = next++) {
      Scanned& r = scanned[i];
      r.stamp = Stamp(paths[i]);
      if (!r.stamp) continue;
      r.header = index ? index->Find(paths[i], *r.stamp) : std::nullopt;
      r.from_index = r.header.has_value();
      if (!r.header) {
        r.header = ReadDicomHeader(paths[i], secret);
        // "Cannot open" is about permissions, not content: ask again next
        // time rather than remembering it under an unchanged stamp.
        if (index && r.header->problem != FileProblem::kUnreadable) {
          index->Remember(paths[i], *r.stamp, *r.header);
        }
      }
      if (r.header->problem == FileProblem::kNone) {
        r.cache_key = TensorCache::Key(pipeline, r.header->header.sop_instance_uid, r.stamp->size,
                                       r.stamp->mtime_ns);
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < Threads(paths.size()); ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();

  std::unordered_map<std::string, std::string> seen_uids;  // uid -> relative path
  std::set<std::string> matched_keys;
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string& path = paths[i];
    ++report.files_seen;
    const std::optional<FileStamp>& stamp = scanned[i].stamp;
    if (!stamp) {
      FileIssue(path, FileProblemName(FileProblem::kUnreadable),
                "cannot stat file (dangling link, vanished, or not a regular file)");
      continue;
    }
    const std::optional<HeaderResult>& header = scanned[i].header;
    if (scanned[i].from_index) ++report.index_hits;
    if (header->problem != FileProblem::kNone) {
      FileIssue(path, FileProblemName(header->problem), header->message);
      continue;
    }
    const DicomHeader& h = header->header;
    auto [dup, inserted] = seen_uids.emplace(h.sop_instance_uid, FileTag(Relative(path)));
    if (!inserted) {
      FileIssue(path, "duplicate_sop_instance_uid",
                absl::StrCat("same SOPInstanceUID as ", dup->second));
      continue;
    }
    const std::string& key = manifest.key == Manifest::Key::kSopInstanceUid
                                 ? h.sop_instance_uid
                                 : h.study_instance_uid;
    auto entry = manifest.entries.find(key);
    if (entry == manifest.entries.end()) {
      ++report.unlabelled;
      continue;
    }
    matched_keys.insert(key);
    Item item;
    item.path = path;
    item.stamp = *stamp;
    item.meta.sop_instance_uid = h.sop_instance_uid;
    item.meta.label = entry->second.label;
    item.meta.subgroups = h.subgroups;
    item.manifest_split = entry->second.split;
    item.patient_key = h.patient_key;
    item.cache_key = std::move(scanned[i].cache_key);
    items.push_back(std::move(item));
  }
  for (const ManifestIssue& issue : manifest.issues) {
    AddIssue(absl::StrCat("manifest line ", issue.row), "", "manifest_row", issue.message);
  }
  for (const auto& [key, entry] : manifest.entries) {
    if (!matched_keys.count(key)) {
      AddIssue(absl::StrCat("manifest line ", entry.row), "", "missing_instance",
               manifest.key == Manifest::Key::kSopInstanceUid
                   ? "no DICOM file has this SOPInstanceUID"
                   : "no DICOM file belongs to this StudyInstanceUID");
    }
  }
  return absl::OkStatus();
}

// Every image of a patient goes to the same split: the manifest's when it
// names one, else the salted hash of the patient. A patient the manifest
// puts into two splits is left out rather than leak across them.
void DicomDirectorySource::Impl::AssignSplits() {
  std::map<std::string, std::set<Split>> named;  // patient -> splits named
  for (const Item& item : items) {
    if (item.manifest_split) named[item.patient_key].insert(*item.manifest_split);
  }
  std::set<std::string> conflicted;
  for (Item& item : items) {
    auto it = named.find(item.patient_key);
    if (it == named.end()) {
      item.meta.split = AssignSplit(item.patient_key, options.split_salt, options.fractions);
    } else if (it->second.size() == 1) {
      item.meta.split = *it->second.begin();
    } else {
      item.usable = false;
      conflicted.insert(item.patient_key);
    }
  }
  for (size_t i = 0; i < conflicted.size(); ++i) {
    // One issue per patient, without naming the patient.
    AddIssue("manifest", "", "patient_in_two_splits",
             "the manifest puts one patient's images into different splits; that patient's "
             "images are left out");
  }
}

// Decodes (or finds in the cache) every usable item, on several threads.
void DicomDirectorySource::Impl::Prepare() {
  const unsigned threads = Threads(items.size());
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> kept_bytes{0};
  std::vector<std::string> errors(items.size());
  auto work = [&] {
    for (size_t i = next++; i < items.size(); i = next++) {
      if (!items[i].usable) continue;
      absl::StatusOr<std::vector<float>> pixels = Pixels(items[i], /*count=*/true);
      if (!pixels.ok()) {
        items[i].usable = false;
        errors[i] = std::string(pixels.status().message());
      } else {
        const uint64_t bytes = pixels->size() * sizeof(float);
        if (!cache || kept_bytes.fetch_add(bytes) + bytes <= options.memory_budget_bytes) {
          items[i].pixels = *std::move(pixels);
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  for (size_t i = 0; i < items.size(); ++i) {
    if (!errors[i].empty()) {
      FileIssue(items[i].path, FileProblemName(FileProblem::kDecodeFailed), errors[i]);
    }
  }
  report.cache_hits = hits;
  report.cache_misses = misses;
  report.cache_corrupt_rebuilt = corrupt;
}

void DicomDirectorySource::Impl::Finish() {
  items.erase(std::remove_if(items.begin(), items.end(), [](const Item& i) { return !i.usable; }),
              items.end());
  report.examples = static_cast<int64_t>(items.size());
  std::vector<SummaryItem> meta;
  meta.reserve(items.size());
  for (const Item& item : items) meta.push_back(item.meta);
  summary = Summarize(meta, options.labels, pipeline, report.problems);
}

absl::StatusOr<std::unique_ptr<DicomDirectorySource>> DicomDirectorySource::Open(
    const DirectorySourceOptions& options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->pipeline = PipelineFingerprint(options.input);
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(Manifest manifest, ReadManifest(options.source.manifest(), options.labels));
  if (!fs::is_directory(options.source.directory())) {
    return absl::NotFoundError(
        absl::StrCat("data directory ", options.source.directory(), " does not exist"));
  }
  std::unique_ptr<HeaderIndex> index;
  impl->secret = options.patient_key_secret;
  if (!options.cache_dir.empty()) {
    ASSIGN_OR_RETURN(TensorCache cache, TensorCache::Open(options.cache_dir));
    impl->cache.emplace(std::move(cache));
    if (impl->secret.empty()) {
      ASSIGN_OR_RETURN(impl->secret,
                       LoadOrCreateSecret(options.cache_dir + "/patient-key.secret"));
    }
    const std::string version =
        absl::StrCat("headers-v", kHeaderReaderVersion, "/key-",
                     crypto::ToHex(crypto::Sha256(impl->secret)).substr(0, 16));
    ASSIGN_OR_RETURN(index, HeaderIndex::Open(options.cache_dir, version));
  }
  const absl::Time t0 = absl::Now();
  VLOG(1) << "data: manifest and index " << absl::FormatDuration(t0 - start);
  RETURN_IF_ERROR(impl->Scan(manifest, index.get()));
  if (index) {
    if (absl::Status s = index->Flush(); !s.ok()) LOG(WARNING) << "data: header index: " << s;
  }
  const absl::Time t1 = absl::Now();
  impl->AssignSplits();
  impl->Prepare();
  const absl::Time t2 = absl::Now();
  impl->Finish();
  VLOG(1) << "data: scan " << absl::FormatDuration(t1 - t0) << ", prepare "
          << absl::FormatDuration(t2 - t1) << ", summary " << absl::FormatDuration(absl::Now() - t2);
  LOG(INFO) << "data: " << impl->report.examples << " examples from "
            << impl->report.files_seen << " files (" << impl->report.issues.size()
            << " problems, " << impl->report.unlabelled << " unlabelled; cache "
            << impl->report.cache_hits << " hits, " << impl->report.cache_misses << " misses, "
            << impl->report.cache_corrupt_rebuilt << " rebuilt)";
  return std::unique_ptr<DicomDirectorySource>(new DicomDirectorySource(std::move(impl)));
}

DicomDirectorySource::DicomDirectorySource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DicomDirectorySource::~DicomDirectorySource() = default;

size_t DicomDirectorySource::Size() const { return impl_->items.size(); }

absl::StatusOr<Example> DicomDirectorySource::Get(size_t index) const {
  if (index >= impl_->items.size()) {
    return absl::OutOfRangeError(
        absl::StrCat("example ", index, " of ", impl_->items.size(), " requested"));
  }
  const Item& item = impl_->items[index];
  Example e;
  e.label = item.meta.label;
  e.split = item.meta.split;
  e.sop_instance_uid = item.meta.sop_instance_uid;
  e.subgroups = item.meta.subgroups;
  if (!item.pixels.empty()) {
    e.pixels = item.pixels;
  } else {
    ASSIGN_OR_RETURN(e.pixels, impl_->Pixels(item, /*count=*/false));
  }
  return e;
}

std::vector<size_t> DicomDirectorySource::IndicesOf(Split split) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < impl_->items.size(); ++i) {
    if (impl_->items[i].meta.split == split) out.push_back(i);
  }
  return out;
}

const LoadReport& DicomDirectorySource::report() const { return impl_->report; }
const DatasetSummary& DicomDirectorySource::summary() const { return impl_->summary; }

}  // namespace tverr::node
