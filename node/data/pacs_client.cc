// PacsClient on DCMTK's DcmSCU. One association per call; every network
// wait is bounded by the source's timeout (non-blocking DIMSE mode, ACSE and
// TCP connection timeouts). Instances received through C-GET are written as
// <store_directory>/<SOPInstanceUID>.dcm through a temporary file and a
// rename, after checking that the UID (chosen by the PACS, so untrusted) is
// a plain DICOM UID and hence a safe file name.
#include "node/data/pacs_client.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmnet/dcmtrans.h>
#include <dcmtk/dcmnet/dimse.h>
#include <dcmtk/dcmnet/dul.h>
#include <dcmtk/dcmnet/scu.h>
#include <dcmtk/oflog/oflog.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"

namespace tverr::node {
namespace {

constexpr char kDefaultCallingAe[] = "TVERR";
constexpr uint32_t kDefaultTimeoutSeconds = 30;
// DICOM allows 128 presentation contexts per association; stay below.
constexpr size_t kMaxStoreContexts = 120;

// Image storage SOP classes accepted during C-GET.
constexpr const char* kStorageSopClasses[] = {
    UID_SecondaryCaptureImageStorage,
    UID_CTImageStorage,
    UID_EnhancedCTImageStorage,
    UID_MRImageStorage,
    UID_EnhancedMRImageStorage,
    UID_ComputedRadiographyImageStorage,
    UID_DigitalXRayImageStorageForPresentation,
    UID_DigitalXRayImageStorageForProcessing,
    UID_DigitalMammographyXRayImageStorageForPresentation,
    UID_DigitalMammographyXRayImageStorageForProcessing,
    UID_UltrasoundImageStorage,
    UID_UltrasoundMultiframeImageStorage,
    UID_XRayAngiographicImageStorage,
    UID_XRayRadiofluoroscopicImageStorage,
    UID_NuclearMedicineImageStorage,
    UID_PositronEmissionTomographyImageStorage,
};

// Compressed syntaxes get one presentation context each, so that the PACS
// can send an instance in the syntax it holds it in (no transcoding).
constexpr const char* kCompressedSyntaxes[] = {
    UID_JPEGProcess1TransferSyntax,
    UID_JPEGProcess14SV1TransferSyntax,
    UID_JPEGLSLosslessTransferSyntax,
    UID_RLELosslessTransferSyntax,
};

// DcmSCU logs DIMSE dumps (query keys and datasets, which may hold patient
// identifiers) at debug level and our own failures as errors; statuses
// carry everything a caller needs, so its logger stays off.
void SilenceDcmnetLogger() {
  static std::once_flag once;
  std::call_once(once,
                 [] { OFLog::getLogger("dcmtk.dcmnet").setLogLevel(OFLogger::OFF_LOG_LEVEL); });
}

std::string Hex(Uint16 status) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%04X", static_cast<unsigned>(status));
  return buf;
}

// Digits separated by single dots, at most 64 characters (PS3.5 §9.1).
// Leading zeros in a component are tolerated: some archives emit them, and
// they do not make the UID less safe as a file name.
bool IsValidUid(absl::string_view uid) {
  if (uid.empty() || uid.size() > 64) return false;
  bool component_empty = true;
  for (char c : uid) {
    if (c == '.') {
      if (component_empty) return false;
      component_empty = true;
    } else if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      component_empty = false;
    } else {
      return false;
    }
  }
  return !component_empty;
}

bool IsFailure(Uint16 status) {
  return status != STATUS_Success && !DICOM_WARNING_STATUS(status) && !DICOM_PENDING_STATUS(status);
}

bool IsTimeout(const OFCondition& c) { return c == DUL_READTIMEOUT || c == DIMSE_NODATAAVAILABLE; }

uint32_t TimeoutSeconds(const v1::PacsSource& s) {
  return s.timeout_seconds() == 0 ? kDefaultTimeoutSeconds : s.timeout_seconds();
}

std::string PeerName(const v1::PacsSource& s) {
  return absl::StrCat("PACS ", s.called_ae_title(), " at ", s.host(), ":", s.port());
}

absl::Status ValidateSource(const v1::PacsSource& s) {
  if (s.host().empty()) return absl::InvalidArgumentError("PACS host is empty");
  if (s.port() == 0 || s.port() > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("PACS port ", s.port(), " is out of range"));
  }
  if (s.called_ae_title().empty() || s.called_ae_title().size() > 16) {
    return absl::InvalidArgumentError("PACS called AE title must have 1 to 16 characters");
  }
  if (s.calling_ae_title().size() > 16) {
    return absl::InvalidArgumentError("calling AE title must have at most 16 characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateQuery(const v1::PacsSource& s) {
  for (char c : s.modality()) {
    // Code strings, possibly several separated by backslashes.
    if (!absl::ascii_isupper(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '_' && c != ' ' && c != '\\') {
      return absl::InvalidArgumentError(
          absl::StrCat("modality \"", s.modality(), "\" is not a DICOM code string"));
    }
  }
  for (const std::string* date : {&s.study_date_from(), &s.study_date_to()}) {
    if (date->empty()) continue;
    if (date->size() != 8 || !std::all_of(date->begin(), date->end(), [](char c) {
          return absl::ascii_isdigit(static_cast<unsigned char>(c));
        })) {
      return absl::InvalidArgumentError(absl::StrCat("study date \"", *date, "\" is not YYYYMMDD"));
    }
  }
  return absl::OkStatus();
}

// Status for a failed network exchange during `operation`.
absl::Status NetworkError(const v1::PacsSource& s, absl::string_view operation,
                          const OFCondition& c) {
  if (IsTimeout(c)) {
    return absl::DeadlineExceededError(absl::StrCat(PeerName(s), " did not answer within ",
                                                    TimeoutSeconds(s), " s during ", operation));
  }
  return absl::UnavailableError(absl::StrCat(PeerName(s), ": ", operation, " failed: ", c.text()));
}

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// fsyncs `path` (a file or a directory).
absl::Status SyncPath(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path);
  int rc = fsync(fd);
  close(fd);
  if (rc != 0) return ErrnoError("cannot fsync", path);
  return absl::OkStatus();
}

// DcmSCU configured from a PacsSource, with the response and C-STORE
// handlers PacsClient needs. One instance per association.
class Scu final : public DcmSCU {
 public:
  explicit Scu(const v1::PacsSource& source) : source_(source) {
    SilenceDcmnetLogger();
    const uint32_t timeout = TimeoutSeconds(source);
    setAETitle(source.calling_ae_title().empty() ? kDefaultCallingAe
                                                 : source.calling_ae_title().c_str());
    setPeerAETitle(source.called_ae_title().c_str());
    setPeerHostName(source.host().c_str());
    setPeerPort(static_cast<Uint16>(source.port()));
    setDIMSEBlockingMode(DIMSE_NONBLOCKING);
    setDIMSETimeout(timeout);
    setACSETimeout(timeout);
    // Process-wide in DCMTK (read when a connection is made).
    setConnectionTimeout(static_cast<Sint32>(timeout));
    dcmSocketSendTimeout.set(static_cast<Sint32>(timeout));
    dcmSocketReceiveTimeout.set(static_cast<Sint32>(timeout));
    setDatasetConversionMode(OFTrue);
    setProgressNotificationMode(OFFalse);
  }

  absl::Status AddContext(const char* abstract_syntax, const std::vector<const char*>& syntaxes,
                          T_ASC_SC_ROLE role = ASC_SC_ROLE_DEFAULT) {
    OFList<OFString> list;
    for (const char* ts : syntaxes) list.push_back(ts);
    OFCondition c = addPresentationContext(abstract_syntax, list, role);
    if (c.bad()) return absl::InternalError(absl::StrCat("presentation context: ", c.text()));
    return absl::OkStatus();
  }

  // Opens the association for `operation` ("C-FIND", ...).
  absl::Status Connect(absl::string_view operation) {
    const absl::Time start = absl::Now();
    OFCondition c = initNetwork();
    if (c.bad()) {
      return absl::InternalError(
          absl::StrCat("cannot set up the DICOM network for ", operation, ": ", c.text()));
    }
    c = negotiateAssociation();
    if (c.good()) return absl::OkStatus();
    const std::string peer = PeerName(source_);
    if (c == DUL_ASSOCIATIONREJECTED) {
      return absl::UnavailableError(
          absl::StrCat(peer, " refused the association for ", operation, ": ", c.text()));
    }
    if (c == NET_EC_NoAcceptablePresentationContexts) {
      return absl::UnavailableError(absl::StrCat(
          peer, " accepted none of the presentation contexts proposed for ", operation));
    }
    // DCMTK reports a peer that hangs up at once with the same condition as
    // a timeout; only a wait that lasted the timeout is one.
    if (IsTimeout(c) && absl::Now() - start >= absl::Seconds(TimeoutSeconds(source_)) * 0.9) {
      return absl::DeadlineExceededError(absl::StrCat(
          peer, " did not answer the association request within ", TimeoutSeconds(source_), " s"));
    }
    if (IsTimeout(c)) {
      return absl::UnavailableError(
          absl::StrCat(peer, " closed the connection during the association request for ",
                       operation));
    }
    return absl::UnavailableError(
        absl::StrCat(peer, " could not be reached for ", operation, ": ", c.text()));
  }

  void Release() {
    if (isConnected()) releaseAssociation();
  }

  T_ASC_PresentationContextID ContextFor(const char* abstract_syntax,
                                         const OFString& transfer_syntax = "") {
    return findAnyPresentationContextID(abstract_syntax, transfer_syntax);
  }

  // --- C-FIND results.
  const std::vector<StudyMatch>& matches() const { return matches_; }
  Uint16 find_status() const { return find_status_; }

  OFCondition handleFINDResponse(const T_ASC_PresentationContextID pc, QRResponse* response,
                                 OFBool& wait_for_next) override {
    OFCondition c = DcmSCU::handleFINDResponse(pc, response, wait_for_next);
    if (response == nullptr) return c;
    find_status_ = response->m_status;
    if (DICOM_PENDING_STATUS(response->m_status) && response->m_dataset != nullptr) {
      OFString uid;
      OFString count;
      response->m_dataset->findAndGetOFString(DCM_StudyInstanceUID, uid);
      response->m_dataset->findAndGetOFString(DCM_NumberOfStudyRelatedInstances, count);
      if (!IsValidUid(uid.c_str())) {
        ++invalid_study_uids_;
      } else if (seen_.insert(uid.c_str()).second) {
        StudyMatch match;
        match.study_instance_uid = uid.c_str();
        int instances = 0;
        if (absl::SimpleAtoi(absl::StripAsciiWhitespace(count.c_str()), &instances) &&
            instances > 0) {
          match.instances = instances;
        }
        matches_.push_back(std::move(match));
      }
    }
    return c;
  }
  int invalid_study_uids() const { return invalid_study_uids_; }

  // --- C-GET: instances are written to `store_directory`.
  void StartGet(std::string store_directory) {
    store_directory_ = std::move(store_directory);
    get_status_ = 0;
    get_final_ = false;
    pacs_failed_ = 0;
    local_failed_ = 0;
    first_failure_.clear();
  }
  bool get_final() const { return get_final_; }
  Uint16 get_status() const { return get_status_; }
  // Failed or warned sub-operations of the last C-GET.
  int get_failed() const { return std::max(pacs_failed_, local_failed_); }
  const std::set<std::string>& stored_files() const { return stored_files_; }
  // Instances of the last C-GET this side refused or could not write, and why
  // the first one failed.
  int local_failed() const { return local_failed_; }
  const std::string& first_failure() const { return first_failure_; }

  OFCondition handleCGETResponse(const T_ASC_PresentationContextID pc, RetrieveResponse* response,
                                 OFBool& continue_session) override {
    OFCondition c = DcmSCU::handleCGETResponse(pc, response, continue_session);
    if (response != nullptr && !DICOM_PENDING_STATUS(response->m_status)) {
      get_final_ = true;
      get_status_ = response->m_status;
      pacs_failed_ = response->m_numberOfFailedSubops + response->m_numberOfWarningSubops;
    }
    return c;
  }

  // Takes ownership of `incoming`. Always returns EC_Normal so that one bad
  // instance does not end the session; failures go back as C-STORE status.
  OFCondition handleSTORERequest(const T_ASC_PresentationContextID /*pc*/, DcmDataset* incoming,
                                 OFBool& /*continue_session*/, Uint16& store_status) override {
    std::unique_ptr<DcmDataset> dataset(incoming);
    if (dataset == nullptr) {
      if (local_failed_ == 0) first_failure_ = "no dataset";
      ++local_failed_;
      store_status = STATUS_STORE_Error_CannotUnderstand;
      return EC_Normal;
    }
    absl::Status s = WriteInstance(std::move(dataset), &store_status);
    if (!s.ok()) {
      if (local_failed_ == 0) first_failure_ = std::string(s.message());
      ++local_failed_;
    }
    return EC_Normal;
  }

 private:
  absl::Status WriteInstance(std::unique_ptr<DcmDataset> dataset, Uint16* store_status) {
    OFString sop;
    dataset->findAndGetOFString(DCM_SOPInstanceUID, sop);
    if (!IsValidUid(sop.c_str())) {
      *store_status = STATUS_STORE_Error_CannotUnderstand;
      return absl::InvalidArgumentError("SOPInstanceUID is missing or not a valid UID");
    }
    *store_status = STATUS_STORE_Refused_OutOfResources;
    const std::string final_path = absl::StrCat(store_directory_, "/", sop.c_str(), ".dcm");
    std::string tmp = absl::StrCat(store_directory_, "/.incoming-XXXXXX");
    int fd = mkstemp(tmp.data());
    if (fd < 0) return ErrnoError("cannot create a file in", store_directory_);
    close(fd);
    DcmFileFormat file(dataset.release(), /*deepCopy=*/OFFalse);
    // EXS_Unknown: written in the transfer syntax it arrived in.
    OFCondition c = file.saveFile(tmp.c_str(), EXS_Unknown);
    absl::Status s = c.good()
                         ? SyncPath(tmp)
                         : absl::InternalError(absl::StrCat("cannot write ", tmp, ": ", c.text()));
    if (s.ok() && std::rename(tmp.c_str(), final_path.c_str()) != 0) {
      s = ErrnoError("cannot rename to", final_path);
    }
    if (!s.ok()) {
      std::remove(tmp.c_str());
      return s;
    }
    *store_status = STATUS_Success;
    stored_files_.insert(final_path);
    VLOG(2) << "Stored instance " << sop.c_str();
    return absl::OkStatus();
  }

  const v1::PacsSource& source_;
  // C-FIND.
  std::vector<StudyMatch> matches_;
  std::set<std::string> seen_;
  int invalid_study_uids_ = 0;
  Uint16 find_status_ = 0;
  // C-GET.
  std::string store_directory_;
  std::set<std::string> stored_files_;
  Uint16 get_status_ = 0;
  bool get_final_ = false;
  int pacs_failed_ = 0;
  int local_failed_ = 0;
  std::string first_failure_;
};

absl::Status PutKey(DcmDataset& keys, const DcmTagKey& tag, const std::string& value) {
  OFCondition c = keys.putAndInsertString(tag, value.c_str());
  if (c.bad()) return absl::InternalError(absl::StrCat("query key: ", c.text()));
  return absl::OkStatus();
}

// What Store needs to know about a file before opening the association.
struct FileToStore {
  std::string path;
  std::string sop_class;
  std::string transfer_syntax;
};

absl::StatusOr<FileToStore> ReadMeta(const std::string& path) {
  DcmFileFormat file;
  OFCondition c =
      file.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_metaOnly);
  OFString sop_class;
  OFString syntax;
  if (c.good()) {
    file.getMetaInfo()->findAndGetOFString(DCM_MediaStorageSOPClassUID, sop_class);
    file.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, syntax);
  }
  if (c.bad() || !IsValidUid(sop_class.c_str()) || !IsValidUid(syntax.c_str())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot store ", path, ": not a DICOM Part 10 file with SOP class and transfer syntax",
        c.bad() ? absl::StrCat(" (", c.text(), ")") : ""));
  }
  return FileToStore{path, sop_class.c_str(), syntax.c_str()};
}

}  // namespace

PacsClient::PacsClient(v1::PacsSource source) : source_(std::move(source)) {}

absl::Status PacsClient::Echo() const {
  RETURN_IF_ERROR(ValidateSource(source_));
  Scu scu(source_);
  RETURN_IF_ERROR(scu.AddContext(UID_VerificationSOPClass, {UID_LittleEndianImplicitTransferSyntax}));
  RETURN_IF_ERROR(scu.Connect("C-ECHO"));
  const T_ASC_PresentationContextID pc = scu.ContextFor(UID_VerificationSOPClass);
  OFCondition c = pc == 0 ? OFCondition(EC_IllegalCall) : scu.sendECHORequest(pc);
  scu.Release();
  if (c.bad()) return NetworkError(source_, "C-ECHO", c);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StudyMatch>> PacsClient::FindStudies() const {
  RETURN_IF_ERROR(ValidateSource(source_));
  RETURN_IF_ERROR(ValidateQuery(source_));
  Scu scu(source_);
  RETURN_IF_ERROR(scu.AddContext(
      UID_FINDStudyRootQueryRetrieveInformationModel,
      {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax}));
  RETURN_IF_ERROR(scu.Connect("C-FIND"));
  const T_ASC_PresentationContextID pc =
      scu.ContextFor(UID_FINDStudyRootQueryRetrieveInformationModel);
  if (pc == 0) {
    return absl::UnavailableError(
        absl::StrCat(PeerName(source_), " does not accept Study Root C-FIND"));
  }

  DcmDataset keys;
  RETURN_IF_ERROR(PutKey(keys, DCM_QueryRetrieveLevel, "STUDY"));
  RETURN_IF_ERROR(PutKey(keys, DCM_StudyInstanceUID, ""));
  if (!source_.modality().empty()) {
    RETURN_IF_ERROR(PutKey(keys, DCM_ModalitiesInStudy, source_.modality()));
  }
  if (!source_.study_date_from().empty() || !source_.study_date_to().empty()) {
    RETURN_IF_ERROR(PutKey(keys, DCM_StudyDate,
                           absl::StrCat(source_.study_date_from(), "-", source_.study_date_to())));
  }
  RETURN_IF_ERROR(PutKey(keys, DCM_NumberOfStudyRelatedInstances, ""));

  OFCondition c = scu.sendFINDRequest(pc, &keys, /*responses=*/nullptr);
  if (c.bad()) return NetworkError(source_, "C-FIND", c);
  const Uint16 status = scu.find_status();
  if (status == STATUS_FIND_Cancel) {
    return absl::AbortedError(absl::StrCat(PeerName(source_), " cancelled the C-FIND"));
  }
  if (IsFailure(status)) {
    return absl::InternalError(
        absl::StrCat(PeerName(source_), " C-FIND failed with status ", Hex(status)));
  }
  scu.Release();
  if (scu.invalid_study_uids() > 0) {
    LOG(WARNING) << PeerName(source_) << " returned " << scu.invalid_study_uids()
                 << " C-FIND matches without a valid StudyInstanceUID (skipped)";
  }
  VLOG(1) << "C-FIND on " << PeerName(source_) << ": " << scu.matches().size() << " studies";
  return scu.matches();
}

absl::StatusOr<RetrieveResult> PacsClient::Retrieve(const std::vector<StudyMatch>& studies) const {
  RETURN_IF_ERROR(ValidateSource(source_));
  const std::string& dir = source_.store_directory();
  if (dir.empty()) return absl::InvalidArgumentError("PACS store_directory is not set");
  for (const StudyMatch& study : studies) {
    if (!IsValidUid(study.study_instance_uid)) {
      return absl::InvalidArgumentError("cannot retrieve a study without a valid StudyInstanceUID");
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create store directory ", dir, ": ", ec.message()));
  }
  RetrieveResult result;
  if (studies.empty()) return result;

  Scu scu(source_);
  RETURN_IF_ERROR(scu.AddContext(
      UID_GETStudyRootQueryRetrieveInformationModel,
      {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax}));
  for (const char* sop_class : kStorageSopClasses) {
    RETURN_IF_ERROR(scu.AddContext(
        sop_class, {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax},
        ASC_SC_ROLE_SCP));
    for (const char* syntax : kCompressedSyntaxes) {
      RETURN_IF_ERROR(scu.AddContext(sop_class, {syntax}, ASC_SC_ROLE_SCP));
    }
  }
  RETURN_IF_ERROR(scu.Connect("C-GET"));
  const T_ASC_PresentationContextID pc =
      scu.ContextFor(UID_GETStudyRootQueryRetrieveInformationModel);
  if (pc == 0) {
    return absl::UnavailableError(
        absl::StrCat(PeerName(source_), " does not accept Study Root C-GET"));
  }

  for (size_t i = 0; i < studies.size(); ++i) {
    const std::string which = absl::StrCat("C-GET of study ", i + 1, " of ", studies.size());
    DcmDataset keys;
    RETURN_IF_ERROR(PutKey(keys, DCM_QueryRetrieveLevel, "STUDY"));
    RETURN_IF_ERROR(PutKey(keys, DCM_StudyInstanceUID, studies[i].study_instance_uid));
    scu.StartGet(dir);
    VLOG(2) << which << ": " << studies[i].study_instance_uid;
    OFCondition c = scu.sendCGETRequest(pc, &keys, /*responses=*/nullptr);
    if (scu.local_failed() > 0) {
      LOG(WARNING) << PeerName(source_) << ": " << which << ": " << scu.local_failed()
                   << " instances not stored (first: " << scu.first_failure() << ")";
    }
    if (c.bad()) return NetworkError(source_, which, c);
    if (!scu.get_final()) {
      return absl::UnavailableError(
          absl::StrCat(PeerName(source_), ": ", which, " ended without a final response"));
    }
    const Uint16 status = scu.get_status();
    if (status == STATUS_GET_Cancel) {
      return absl::AbortedError(absl::StrCat(PeerName(source_), " cancelled the ", which));
    }
    if (IsFailure(status)) {
      return absl::InternalError(
          absl::StrCat(PeerName(source_), " ", which, " failed with status ", Hex(status)));
    }
    ++result.studies;
    result.failed += scu.get_failed();
  }
  scu.Release();
  RETURN_IF_ERROR(SyncPath(dir));
  result.files.assign(scu.stored_files().begin(), scu.stored_files().end());
  result.instances_stored = static_cast<int>(result.files.size());
  VLOG(1) << "C-GET from " << PeerName(source_) << ": " << result.studies << " studies, "
          << result.instances_stored << " instances stored, " << result.failed << " failed";
  return result;
}

absl::StatusOr<RetrieveResult> PacsClient::FindAndRetrieve() const {
  ASSIGN_OR_RETURN(std::vector<StudyMatch> studies, FindStudies());
  return Retrieve(studies);
}

absl::StatusOr<int> PacsClient::Store(const std::vector<std::string>& files) const {
  RETURN_IF_ERROR(ValidateSource(source_));
  std::vector<FileToStore> metas;
  metas.reserve(files.size());
  for (const std::string& path : files) {
    ASSIGN_OR_RETURN(FileToStore meta, ReadMeta(path));
    metas.push_back(std::move(meta));
  }

  int stored = 0;
  size_t next = 0;
  while (next < metas.size()) {
    // One association per batch of files whose (SOP class, transfer syntax)
    // pairs fit in the presentation context limit.
    std::set<std::pair<std::string, std::string>> pairs;
    size_t end = next;
    while (end < metas.size()) {
      auto pair = std::make_pair(metas[end].sop_class, metas[end].transfer_syntax);
      if (pairs.count(pair) == 0 && pairs.size() == kMaxStoreContexts) break;
      pairs.insert(std::move(pair));
      ++end;
    }
    Scu scu(source_);
    for (const auto& [sop_class, syntax] : pairs) {
      RETURN_IF_ERROR(scu.AddContext(sop_class.c_str(), {syntax.c_str()}));
    }
    RETURN_IF_ERROR(scu.Connect("C-STORE"));
    for (; next < end; ++next) {
      const std::string& path = metas[next].path;
      DcmFileFormat file;
      OFCondition c =
          file.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_fileOnly);
      if (c.bad()) {
        return absl::InvalidArgumentError(absl::StrCat("cannot read ", path, ": ", c.text()));
      }
      const T_ASC_PresentationContextID pc =
          scu.ContextFor(metas[next].sop_class.c_str(), metas[next].transfer_syntax.c_str());
      if (pc == 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            PeerName(source_), " did not accept SOP class ",
            dcmFindNameOfUID(metas[next].sop_class.c_str(), metas[next].sop_class.c_str()),
            " in transfer syntax ", metas[next].transfer_syntax, " needed for ", path));
      }
      Uint16 status = 0;
      c = scu.sendSTORERequest(pc, OFFilename(), file.getDataset(), status);
      if (c.bad()) return NetworkError(source_, absl::StrCat("C-STORE of ", path), c);
      if (IsFailure(status)) {
        return absl::InternalError(absl::StrCat(PeerName(source_), " C-STORE of ", path,
                                                " failed with status ", Hex(status)));
      }
      ++stored;
    }
    scu.Release();
  }
  VLOG(1) << "C-STORE to " << PeerName(source_) << ": " << stored << " instances";
  return stored;
}

}  // namespace tverr::node
