// Scratch directories for tests, removed when the object goes away.
#ifndef TVERR_TESTS_SUPPORT_TEMP_DIR_H_
#define TVERR_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>
#include <vector>

namespace tverr::testing {

class TempDir {
 public:
  TempDir();  // Creates a fresh directory under $TEST_TMPDIR or /tmp.
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Reads a whole file ("" if missing).
std::string ReadFileOrEmpty(const std::string& path);
// The file's non-empty lines, without their newlines (none if missing).
std::vector<std::string> ReadLines(const std::string& path);
// Writes a whole file; aborts the test on failure.
void WriteFileOrDie(const std::string& path, const std::string& contents);

}  // namespace tverr::testing

#endif  // TVERR_TESTS_SUPPORT_TEMP_DIR_H_
