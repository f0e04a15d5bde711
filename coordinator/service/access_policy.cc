#include "coordinator/service/access_policy.h"

#include <map>

namespace tverr::coordinator {
namespace {

const std::map<std::string, std::vector<v1::Role>, std::less<>>& Table() {
  using R = std::vector<v1::Role>;
  const R node = {v1::ROLE_NODE};
  const R researcher = {v1::ROLE_RESEARCHER};
  const R auditor = {v1::ROLE_AUDITOR};
  const R read_nodes = {v1::ROLE_OPERATOR, v1::ROLE_RESEARCHER, v1::ROLE_AUDITOR};
  static const auto* table = new std::map<std::string, R, std::less<>>{
      {"tverr.v1.NodeService/Join", node},
      {"tverr.v1.NodeService/Heartbeat", node},
      {"tverr.v1.NodeService/OpenTaskStream", node},
      {"tverr.v1.NodeService/Upload", node},
      {"tverr.v1.NodeService/Download", node},
      {"tverr.v1.NodeService/ReportEvaluation", node},
      {"tverr.v1.NodeService/ReportProgress", node},
      {"tverr.v1.NodeService/SecAggAdvertise", node},
      {"tverr.v1.NodeService/SecAggShareKeys", node},
      {"tverr.v1.NodeService/SecAggUnmask", node},
      {"tverr.v1.NodeService/GetAuditConsistencyProof", node},
      {"tverr.v1.ResearcherService/UploadPayload", researcher},
      {"tverr.v1.ResearcherService/CreateRun", researcher},
      {"tverr.v1.ResearcherService/StartRun", researcher},
      {"tverr.v1.ResearcherService/PauseRun", researcher},
      {"tverr.v1.ResearcherService/AbortRun", researcher},
      {"tverr.v1.ResearcherService/GetRunStatus", researcher},
      {"tverr.v1.ResearcherService/WatchRun", researcher},
      {"tverr.v1.OperatorService/ListNodes", read_nodes},
      {"tverr.v1.AuditorService/ReadEntries", auditor},
      {"tverr.v1.AuditorService/GetTreeHead", auditor},
      {"tverr.v1.AuditorService/GetInclusionProof", auditor},
      {"tverr.v1.AuditorService/GetConsistencyProof", auditor},
  };
  return *table;
}

}  // namespace

std::vector<v1::Role> AllowedRoles(absl::string_view method) {
  auto it = Table().find(method);
  if (it == Table().end()) return {};
  return it->second;
}

std::vector<std::string> PolicyMethods() {
  std::vector<std::string> out;
  for (const auto& [method, roles] : Table()) out.push_back(method);
  return out;
}

}  // namespace tverr::coordinator
