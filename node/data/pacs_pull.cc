#include "node/data/pacs_pull.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"

namespace tverr::node {
namespace {

constexpr char kJournal[] = ".tverr-pulled-studies";

// study uid -> instance count at the time it was completed.
std::map<std::string, int> ReadJournal(const std::string& path) {
  std::map<std::string, int> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    int count = 0;
    // A torn last line (crash while appending) is ignored: that study is
    // simply retrieved again.
    if (parts.size() == 2 && absl::SimpleAtoi(parts[1], &count)) out[parts[0]] = count;
  }
  return out;
}

absl::Status AppendJournal(const std::string& path, const std::string& uid, int count) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  const std::string line = absl::StrCat(uid, " ", count, "\n");
  bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            fsync(fd) == 0;
  close(fd);
  if (!ok) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PullResult> PullNewStudies(const v1::PacsSource& source) {
  std::error_code ec;
  std::filesystem::create_directories(source.store_directory(), ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", source.store_directory(), ": ", ec.message()));
  }
  const std::string journal = source.store_directory() + "/" + kJournal;
  std::map<std::string, int> done = ReadJournal(journal);
  PacsClient client(source);
  ASSIGN_OR_RETURN(std::vector<StudyMatch> studies, client.FindStudies());
  PullResult result;
  result.studies_found = static_cast<int>(studies.size());
  for (const StudyMatch& study : studies) {
    auto it = done.find(study.study_instance_uid);
    // A PACS that does not report counts (0) is trusted to be unchanged.
    if (it != done.end() && (study.instances == 0 || it->second == study.instances)) {
      ++result.studies_skipped;
      continue;
    }
    absl::StatusOr<RetrieveResult> retrieved = client.Retrieve({study});
    if (!retrieved.ok()) {
      // The PACS could not be reached: stop. The PACS refused this study:
      // count it and go on with the others.
      if (absl::IsUnavailable(retrieved.status()) ||
          absl::IsDeadlineExceeded(retrieved.status())) {
        return retrieved.status();
      }
      ++result.studies_failed;
      result.last_error = std::string(retrieved.status().message());
      continue;
    }
    const RetrieveResult& got = *retrieved;
    result.instances_stored += got.instances_stored;
    result.instances_failed += got.failed;
    ++result.studies_retrieved;
    if (got.failed == 0) {
      RETURN_IF_ERROR(AppendJournal(journal, study.study_instance_uid,
                                    study.instances > 0 ? study.instances : got.instances_stored));
    }
  }
  return result;
}

}  // namespace tverr::node
