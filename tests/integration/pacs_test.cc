// PacsClient against a real Orthanc on loopback: C-STORE of test files,
// C-FIND by modality and date, C-GET into a store directory (same pixel
// bytes and UIDs as stored), failure statuses for unreachable, silent and
// non-DICOM peers, and no patient identifiers in statuses or logs.
#include <arpa/inet.h>
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <glog/logging.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "node/data/dicom_directory_source.h"
#include "node/data/pacs_client.h"
#include "node/data/pacs_pull.h"
#include "tests/support/dicom_writer.h"
#include "tests/support/log_capture.h"
#include "tests/support/orthanc.h"
#include "tests/support/temp_dir.h"

namespace tverr::node {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;
using tverr::testing::OrthancServer;
using tverr::testing::TempDir;
using tverr::testing::TestDicom;
using tverr::testing::TestSyntax;

using CapturingSink = tverr::testing::LogCapture;

struct TestStudy {
  std::string uid;
  std::string patient_id;
  std::string patient_name;
  std::string modality;
  std::string sop_class;
  std::string date;
  std::vector<TestSyntax> syntaxes;  // one instance each
};

const std::vector<TestStudy>& Studies() {
  static const auto* studies = new std::vector<TestStudy>{
      {"2.25.7001",
       "PACSPAT-ALPHA-17",
       "Alphaperson^Astrid",
       "CT",
       UID_CTImageStorage,
       "20240110",
       {TestSyntax::kExplicitLittle, TestSyntax::kExplicitLittle, TestSyntax::kExplicitLittle,
        TestSyntax::kExplicitLittle}},
      {"2.25.7002",
       "PACSPAT-BRAVO-23",
       "Bravoperson^Bjorn",
       "CT",
       UID_CTImageStorage,
       "20240305",
       {TestSyntax::kExplicitLittle, TestSyntax::kImplicitLittle, TestSyntax::kJpegLossless,
        TestSyntax::kRle}},
      {"2.25.7003",
       "PACSPAT-CHARLIE-31",
       "Charlieperson^Cora",
       "MR",
       UID_MRImageStorage,
       "20240620",
       {TestSyntax::kJpegLsLossless, TestSyntax::kJpegLsLossless, TestSyntax::kExplicitLittle,
        TestSyntax::kExplicitLittle}},
  };
  return *studies;
}

// What a comparison needs from a DICOM file: its UID, transfer syntax and
// the stored pixel bytes (fragments, length-prefixed, when encapsulated).
struct PixelInfo {
  std::string sop_instance_uid;
  std::string study_instance_uid;
  std::string transfer_syntax;
  std::string bytes;
};

PixelInfo ReadPixels(const std::string& path) {
  PixelInfo info;
  DcmFileFormat file;
  OFCondition c = file.loadFile(path.c_str());
  EXPECT_TRUE(c.good()) << path << ": " << c.text();
  if (c.bad()) return info;
  DcmDataset* ds = file.getDataset();
  OFString value;
  ds->findAndGetOFString(DCM_SOPInstanceUID, value);
  info.sop_instance_uid = value.c_str();
  ds->findAndGetOFString(DCM_StudyInstanceUID, value);
  info.study_instance_uid = value.c_str();
  const E_TransferSyntax xfer = ds->getOriginalXfer();
  info.transfer_syntax = DcmXfer(xfer).getXferID();
  DcmElement* element = nullptr;
  if (ds->findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) {
    ADD_FAILURE() << path << " has no pixel data";
    return info;
  }
  auto* pixels = static_cast<DcmPixelData*>(element);
  if (DcmXfer(xfer).isEncapsulated()) {
    DcmPixelSequence* sequence = nullptr;
    EXPECT_TRUE(pixels->getEncapsulatedRepresentation(xfer, nullptr, sequence).good());
    if (sequence == nullptr) return info;
    for (unsigned long i = 0; i < sequence->card(); ++i) {
      DcmPixelItem* item = nullptr;
      Uint8* data = nullptr;
      if (sequence->getItem(item, i).bad() || item->getUint8Array(data).bad()) continue;
      info.bytes += absl::StrCat("[", item->getLength(), "]");
      if (data != nullptr) info.bytes.append(reinterpret_cast<char*>(data), item->getLength());
    }
  } else {
    Uint8* data = nullptr;
    EXPECT_TRUE(pixels->getUint8Array(data).good());
    if (data != nullptr) info.bytes.assign(reinterpret_cast<char*>(data), pixels->getLength());
  }
  return info;
}

std::vector<std::string> StudyUids(const std::vector<StudyMatch>& matches) {
  std::vector<std::string> uids;
  for (const StudyMatch& m : matches) uids.push_back(m.study_instance_uid);
  return uids;
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

// A TCP listener on 127.0.0.1 that never accepts (the kernel completes the
// handshake, nobody answers) or, with `close_at_once`, accepts and closes.
class FakePeer {
 public:
  explicit FakePeer(bool close_at_once) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 8) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen";
    }
    port_ = ntohs(addr.sin_port);
    if (close_at_once) {
      thread_ = std::thread([this] {
        while (!stop_) {
          int c = accept(fd_, nullptr, nullptr);
          if (c >= 0) close(c);
        }
      });
    }
  }
  ~FakePeer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);  // wakes accept()
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class PacsClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    FLAGS_v = 2;  // our VLOG lines are checked for identifiers too
    sink_ = new CapturingSink;
    dir_ = new TempDir;
    orthanc_ = new OrthancServer;
    originals_ = new std::map<std::string, PixelInfo>;
    files_ = new std::vector<std::string>;
    setup_ = orthanc_->Start(dir_->Sub("orthanc"));
    if (!setup_.ok()) return;
    std::filesystem::create_directories(dir_->Sub("sent"));
    int n = 0;
    for (const TestStudy& study : Studies()) {
      for (TestSyntax syntax : study.syntaxes) {
        TestDicom spec;
        spec.rows = 4;
        spec.cols = 4;
        spec.pixels.clear();
        for (int i = 0; i < 16; ++i) spec.pixels.push_back(100 * n + 7 * i);
        spec.bits_allocated = 16;
        spec.bits_stored = 12;
        spec.syntax = syntax;
        spec.sop_class_uid = study.sop_class;
        spec.study_instance_uid = study.uid;
        spec.series_instance_uid = study.uid + ".1";
        spec.patient_id = study.patient_id;
        spec.patient_name = study.patient_name;
        spec.study_date = study.date;
        spec.modality = study.modality;
        const std::string path = dir_->Sub(absl::StrCat("sent/", n++, ".dcm"));
        setup_ = tverr::testing::WriteTestDicom(path, spec);
        if (!setup_.ok()) return;
        files_->push_back(path);
        PixelInfo info = ReadPixels(path);
        (*originals_)[info.sop_instance_uid] = info;
      }
    }
    absl::StatusOr<int> stored = PacsClient(Source()).Store(*files_);
    setup_ = stored.status();
    if (stored.ok()) stored_ = *stored;
  }

  static void TearDownTestSuite() {
    delete orthanc_;  // before its directory goes
    delete dir_;
    delete originals_;
    delete files_;
    delete sink_;
  }

  void SetUp() override {
    ASSERT_TRUE(setup_.ok()) << setup_ << "\nOrthanc log: "
                             << tverr::testing::ReadFileOrEmpty(orthanc_->log_path());
  }

  static v1::PacsSource Source(const std::string& store = "") {
    return orthanc_->MakePacsSource(store.empty() ? dir_->Sub("unused") : store);
  }

  // Checks that `text` names no test patient.
  static void ExpectNoPatientData(const std::string& text) {
    for (const TestStudy& study : Studies()) {
      EXPECT_THAT(text, ::testing::Not(HasSubstr(study.patient_id)));
      EXPECT_THAT(text, ::testing::Not(HasSubstr(study.patient_name)));
    }
  }

  static inline CapturingSink* sink_ = nullptr;
  static inline TempDir* dir_ = nullptr;
  static inline OrthancServer* orthanc_ = nullptr;
  static inline std::map<std::string, PixelInfo>* originals_ = nullptr;
  static inline std::vector<std::string>* files_ = nullptr;
  static inline absl::Status setup_;
  static inline int stored_ = 0;
};

TEST_F(PacsClientTest, StoreCountsEveryFile) { EXPECT_EQ(stored_, 12); }

TEST_F(PacsClientTest, FindStudiesFiltersByModality) {
  v1::PacsSource source = Source();
  source.set_modality("CT");
  absl::StatusOr<std::vector<StudyMatch>> found = PacsClient(source).FindStudies();
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(StudyUids(*found), UnorderedElementsAre("2.25.7001", "2.25.7002"));
  for (const StudyMatch& m : *found) EXPECT_EQ(m.instances, 4);

  source.set_modality("MR");
  found = PacsClient(source).FindStudies();
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(StudyUids(*found), ElementsAre("2.25.7003"));
}

TEST_F(PacsClientTest, FindStudiesFiltersByDateRange) {
  v1::PacsSource source = Source();
  source.set_study_date_from("20240301");
  source.set_study_date_to("20240331");
  absl::StatusOr<std::vector<StudyMatch>> found = PacsClient(source).FindStudies();
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(StudyUids(*found), ElementsAre("2.25.7002"));

  source.set_study_date_to("");  // open end
  found = PacsClient(source).FindStudies();
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(StudyUids(*found), UnorderedElementsAre("2.25.7002", "2.25.7003"));

  source.set_study_date_from("");
  source.set_study_date_to("20240110");  // open start, inclusive
  found = PacsClient(source).FindStudies();
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(StudyUids(*found), ElementsAre("2.25.7001"));

  source.set_study_date_to("");
  source.set_modality("CT");
  source.set_study_date_from("20240601");  // no CT study after June
  found = PacsClient(source).FindStudies();
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(found->empty());
}

TEST_F(PacsClientTest, RetrieveWritesTheStoredInstances) {
  const std::string store = dir_->Sub("retrieved-ct");
  v1::PacsSource source = Source(store);
  source.set_modality("CT");
  PacsClient client(source);
  absl::StatusOr<std::vector<StudyMatch>> found = client.FindStudies();
  ASSERT_TRUE(found.ok()) << found.status();
  absl::StatusOr<RetrieveResult> result = client.Retrieve(*found);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->studies, 2);
  EXPECT_EQ(result->instances_stored, 8);
  EXPECT_EQ(result->failed, 0);
  ASSERT_EQ(result->files.size(), 8u);
  EXPECT_EQ(FilesIn(store).size(), 8u);  // no temporary files left

  for (const std::string& path : result->files) {
    PixelInfo got = ReadPixels(path);
    EXPECT_EQ(path, absl::StrCat(store, "/", got.sop_instance_uid, ".dcm"));
    auto it = originals_->find(got.sop_instance_uid);
    ASSERT_NE(it, originals_->end()) << got.sop_instance_uid;
    const PixelInfo& want = it->second;
    EXPECT_THAT(got.study_instance_uid, ::testing::AnyOf("2.25.7001", "2.25.7002"));
    EXPECT_EQ(got.bytes, want.bytes) << "pixel data of " << got.sop_instance_uid;
    if (DcmXfer(want.transfer_syntax.c_str()).isEncapsulated()) {
      // Compressed instances arrive as they were stored.
      EXPECT_EQ(got.transfer_syntax, want.transfer_syntax);
    }
  }
}

TEST_F(PacsClientTest, FindAndRetrieveGetsEverything) {
  const std::string store = dir_->Sub("retrieved-all/nested");  // created on demand
  absl::StatusOr<RetrieveResult> result = PacsClient(Source(store)).FindAndRetrieve();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->studies, 3);
  EXPECT_EQ(result->instances_stored, 12);
  EXPECT_EQ(result->failed, 0);
  std::vector<std::string> want;
  for (const auto& [uid, info] : *originals_) want.push_back(uid + ".dcm");
  EXPECT_THAT(FilesIn(store), UnorderedElementsAreArray(want));
  for (const std::string& path : result->files) {
    PixelInfo got = ReadPixels(path);
    EXPECT_EQ(got.bytes, (*originals_)[got.sop_instance_uid].bytes) << path;
  }
}

// The whole path a hospital uses: query the PACS, retrieve, load as
// training data; the tensors equal those loaded from the original files.
TEST_F(PacsClientTest, RetrievedStudiesLoadToTheSameTensorsAsTheOriginalFiles) {
  const std::string store = dir_->Sub("retrieved-for-training");
  absl::StatusOr<RetrieveResult> result = PacsClient(Source(store)).FindAndRetrieve();
  ASSERT_TRUE(result.ok()) << result.status();
  std::string manifest = "sop_instance_uid,label\n";
  int i = 0;
  for (const auto& [uid, info] : *originals_) {
    absl::StrAppend(&manifest, uid, ",", i++ % 2 ? "finding" : "normal", "\n");
  }
  tverr::testing::WriteFileOrDie(dir_->Sub("pacs-labels.csv"), manifest);
  auto load = [&](const std::string& directory) {
    DirectorySourceOptions o;
    o.source.set_directory(directory);
    o.source.set_manifest(dir_->Sub("pacs-labels.csv"));
    o.input.set_width(4);
    o.input.set_height(4);
    o.input.set_channels(1);
    o.input.mutable_window()->set_center(1000);
    o.input.mutable_window()->set_width(2000);
    o.labels = {"normal", "finding"};
    o.fractions.set_train(1);
    o.split_salt = "pacs";
    return DicomDirectorySource::Open(o);
  };
  auto from_pacs = load(store);
  auto from_files = load(dir_->Sub("sent"));
  ASSERT_TRUE(from_pacs.ok()) << from_pacs.status();
  ASSERT_TRUE(from_files.ok()) << from_files.status();
  ASSERT_EQ((*from_pacs)->Size(), 12u);
  ASSERT_EQ((*from_files)->Size(), 12u);
  EXPECT_TRUE((*from_pacs)->report().issues.empty());
  std::map<std::string, std::vector<float>> a, b;
  for (size_t k = 0; k < 12; ++k) {
    auto ea = (*from_pacs)->Get(k);
    auto eb = (*from_files)->Get(k);
    ASSERT_TRUE(ea.ok() && eb.ok());
    a[ea->sop_instance_uid] = ea->pixels;
    b[eb->sop_instance_uid] = eb->pixels;
  }
  EXPECT_EQ(a, b);
  EXPECT_EQ((*from_pacs)->summary().fingerprint, (*from_files)->summary().fingerprint);
}

// A real DICOM failure from the PACS: C-GET of a study it does not have.
TEST_F(PacsClientTest, RetrieveOfAnUnknownStudyIsAClearError) {
  absl::StatusOr<RetrieveResult> r = PacsClient(Source(dir_->Sub("unknown-study")))
                                         .Retrieve({StudyMatch{"1.2.826.0.1.3680043.10.77.1", 0}});
  ASSERT_FALSE(r.ok()) << "stored " << r->instances_stored;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("C-GET"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("PACS"));
}

TEST_F(PacsClientTest, EchoSucceeds) { EXPECT_TRUE(PacsClient(Source()).Echo().ok()); }

// A repeated pull skips complete studies; an interrupted one (journal
// lost or study incomplete) retrieves again.
TEST_F(PacsClientTest, PullRetrievesOnlyNewStudies) {
  v1::PacsSource source = Source(dir_->Sub("pulled"));
  source.set_modality("CT");
  absl::StatusOr<PullResult> first = PullNewStudies(source);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->studies_found, 2);
  EXPECT_EQ(first->studies_retrieved, 2);
  EXPECT_EQ(first->instances_stored, 8);
  absl::StatusOr<PullResult> second = PullNewStudies(source);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->studies_skipped, 2);
  EXPECT_EQ(second->studies_retrieved, 0);
  source.clear_modality();  // the query widens: only the new study comes
  absl::StatusOr<PullResult> third = PullNewStudies(source);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->studies_found, 3);
  EXPECT_EQ(third->studies_skipped, 2);
  EXPECT_EQ(third->studies_retrieved, 1);
  std::vector<std::string> files = FilesIn(dir_->Sub("pulled"));
  EXPECT_EQ(files.size(), 13u);
  EXPECT_THAT(files, ::testing::Contains(".tverr-pulled-studies"));
}

TEST_F(PacsClientTest, PatientIdentifiersAppearInNoStatusOrLog) {
  std::string statuses;
  auto note = [&](const absl::Status& s) { statuses += s.ToString() + "\n"; };
  v1::PacsSource source = Source(dir_->Sub("privacy"));
  note(PacsClient(source).FindStudies().status());
  note(PacsClient(source).FindAndRetrieve().status());
  note(PacsClient(source).Store(*files_).status());
  const std::string bad = dir_->Sub("garbage.dcm");
  tverr::testing::WriteFileOrDie(bad, std::string(300, 'x'));
  note(PacsClient(source).Store({bad}).status());
  FakePeer peer(/*close_at_once=*/true);
  source.set_port(static_cast<uint32_t>(peer.port()));
  note(PacsClient(source).FindAndRetrieve().status());
  ExpectNoPatientData(statuses);
  const std::string logged = sink_->text();
  EXPECT_THAT(logged, HasSubstr("C-GET from"));  // the sink does see our lines
  ExpectNoPatientData(logged);
}

// A PACS that serves an instance whose SOPInstanceUID is a path: the client
// must not write it anywhere, and must still store the rest of the study.
TEST(PacsClientHostileTest, InstanceWithPathAsUidIsNotWritten) {
  TempDir dir;
  OrthancServer orthanc;
  absl::Status started = orthanc.Start(dir.Sub("orthanc"));
  ASSERT_TRUE(started.ok()) << started;
  std::vector<std::string> files;
  for (const char* sop : {"2.25.9001.1", "../../escaped"}) {
    TestDicom spec;
    spec.sop_class_uid = UID_CTImageStorage;
    spec.sop_instance_uid = sop;
    spec.study_instance_uid = "2.25.9001";
    spec.modality = "CT";
    files.push_back(dir.Sub(absl::StrCat(files.size(), ".dcm")));
    ASSERT_TRUE(tverr::testing::WriteTestDicom(files.back(), spec).ok());
  }
  const std::string store = dir.Sub("a/b/store");
  PacsClient client(orthanc.MakePacsSource(store));
  absl::StatusOr<int> stored = client.Store(files);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(*stored, 2);

  absl::StatusOr<RetrieveResult> result = client.FindAndRetrieve();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->instances_stored, 1);
  EXPECT_GE(result->failed, 1);
  EXPECT_THAT(FilesIn(store), ElementsAre("2.25.9001.1.dcm"));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("a/escaped")));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("a/escaped.dcm")));
}

// Failures that need no PACS: bad input, and peers that are not one.
class PacsClientOfflineTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(tverr::testing::WriteTestDicom(dicom_, TestDicom{}).ok()); }
  v1::PacsSource Source(int port) const {
    v1::PacsSource source;
    source.set_host("127.0.0.1");
    source.set_port(static_cast<uint32_t>(port));
    source.set_called_ae_title("ORTHANC");
    source.set_store_directory(dir_.Sub("store"));
    source.set_timeout_seconds(2);
    return source;
  }

  TempDir dir_;
  const std::string dicom_ = dir_.Sub("one.dcm");
};

TEST_F(PacsClientOfflineTest, RetrieveOfNothingOpensNoAssociation) {
  absl::StatusOr<RetrieveResult> result = PacsClient(Source(/*port=*/1)).Retrieve({});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->instances_stored, 0);
}

TEST_F(PacsClientOfflineTest, StoreOfNonDicomFileNamesTheFile) {
  const std::string bad = dir_.Sub("notes.txt");
  tverr::testing::WriteFileOrDie(bad, "this is not a DICOM file\n");
  // Files are checked before any association is opened.
  absl::StatusOr<int> stored = PacsClient(Source(/*port=*/1)).Store({dicom_, bad});
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(stored.status().message(), HasSubstr(bad));
}

TEST_F(PacsClientOfflineTest, RejectsMalformedQueries) {
  v1::PacsSource source = Source(/*port=*/1);
  source.set_modality("CT*");
  EXPECT_EQ(PacsClient(source).FindStudies().status().code(), absl::StatusCode::kInvalidArgument);
  source = Source(/*port=*/1);
  source.set_study_date_from("2024-01-01");
  EXPECT_EQ(PacsClient(source).FindStudies().status().code(), absl::StatusCode::kInvalidArgument);
  source = Source(/*port=*/1);
  source.set_store_directory("");
  EXPECT_EQ(PacsClient(source).Retrieve({{"2.25.7001", 4}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  source = Source(/*port=*/1);
  EXPECT_EQ(PacsClient(source).Retrieve({{"../2.25", 1}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  source.set_port(70000);
  EXPECT_EQ(PacsClient(source).FindStudies().status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PacsClientOfflineTest, ClosedPortIsUnavailable) {
  const int port = tverr::testing::PickFreePort();
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<StudyMatch>> found = PacsClient(Source(port)).FindStudies();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), absl::StatusCode::kUnavailable) << found.status();
  EXPECT_THAT(found.status().message(),
              HasSubstr(absl::StrCat("PACS ORTHANC at 127.0.0.1:", port)));
}

TEST_F(PacsClientOfflineTest, SilentPeerHitsTheDeadline) {
  FakePeer peer(/*close_at_once=*/false);
  const absl::Time start = absl::Now();
  absl::StatusOr<RetrieveResult> result = PacsClient(Source(peer.port())).FindAndRetrieve();
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(1500));
  EXPECT_LT(took, absl::Seconds(5));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded) << result.status();
}

TEST_F(PacsClientOfflineTest, PeerThatHangsUpIsUnavailable) {
  // Orthanc runs with DicomCheckCalledAet false and would accept a wrong
  // called AE title; a peer that hangs up on the association request stands
  // in for a PACS refusing us.
  FakePeer peer(/*close_at_once=*/true);
  v1::PacsSource source = Source(peer.port());
  source.set_called_ae_title("NOTAPACS");
  const absl::Time start = absl::Now();
  absl::StatusOr<int> stored = PacsClient(source).Store({dicom_});
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.status().code(), absl::StatusCode::kUnavailable) << stored.status();
  EXPECT_THAT(stored.status().message(), HasSubstr("PACS NOTAPACS at 127.0.0.1:"));
}

}  // namespace
}  // namespace tverr::node
