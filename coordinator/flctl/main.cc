// flctl: the command-line tool for researchers, operators and auditors.
// Each command group lives in its own *_command.cc.
#include <iostream>
#include <string>
#include <vector>

#include "common/log/log.h"
#include "coordinator/flctl/audit_command.h"
#include "coordinator/flctl/nodes_command.h"
#include "coordinator/flctl/pki_command.h"
#include "coordinator/flctl/run_command.h"

namespace {

constexpr char kUsage[] =
    "usage: flctl <command> [options]\n"
    "\n"
    "commands:\n"
    "  pki     consortium CA, certificates, signing requests, revocation\n"
    "  nodes   list the nodes enrolled at the coordinator\n"
    "  run     create, start, follow training runs\n"
    "  audit   show, report on and verify an audit log (offline)\n"
    "  version print the version\n"
    "\n"
    "Run 'flctl <command> help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  tverr::InitLogging(argv[0]);
  (void)tverr::SetLogLevel("warning");
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "pki") return tverr::flctl::RunPkiCommand(rest, std::cout, std::cerr);
  if (command == "nodes") return tverr::flctl::RunNodesCommand(rest, std::cout, std::cerr);
  if (command == "run") return tverr::flctl::RunRunCommand(rest, std::cout, std::cerr);
  if (command == "audit") return tverr::flctl::RunAuditCommand(rest, std::cout, std::cerr);
  if (command == "version") {
    std::cout << "flctl " << TVERR_VERSION_STRING << "\n";
    return 0;
  }
  std::cerr << "flctl: unknown command '" << command << "'\n" << kUsage;
  return 2;
}
