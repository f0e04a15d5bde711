#include "node/data/subgroups.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace tverr::node {
namespace {

std::string BandOfYears(int years) {
  if (years < 0 || years > 150) return "unknown";
  if (years < 18) return "0-17";
  if (years < 40) return "18-39";
  if (years < 60) return "40-59";
  if (years < 80) return "60-79";
  return "80+";
}

// YYYYMMDD -> (y, m, d); false if malformed.
bool ParseDate(absl::string_view s, int* y, int* m, int* d) {
  s = absl::StripAsciiWhitespace(s);
  if (s.size() != 8) return false;
  return absl::SimpleAtoi(s.substr(0, 4), y) && absl::SimpleAtoi(s.substr(4, 2), m) &&
         absl::SimpleAtoi(s.substr(6, 2), d) && *m >= 1 && *m <= 12 && *d >= 1 && *d <= 31;
}

}  // namespace

const char* SplitName(Split split) {
  switch (split) {
    case Split::kTrain:
      return "train";
    case Split::kValidation:
      return "validation";
    case Split::kTest:
      return "test";
  }
  return "train";
}

std::string SexGroup(absl::string_view patient_sex) {
  std::string s = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(patient_sex));
  if (s == "F" || s == "M" || s == "O") return s;
  return "unknown";
}

std::string AgeBand(absl::string_view patient_age, absl::string_view birth_date,
                    absl::string_view study_date) {
  absl::string_view age = absl::StripAsciiWhitespace(patient_age);
  int n = 0;
  if (age.size() == 4 && absl::SimpleAtoi(age.substr(0, 3), &n)) {
    switch (age[3]) {
      case 'Y':
        return BandOfYears(n);
      case 'M':
        return BandOfYears(n / 12);
      case 'W':
        return BandOfYears(n / 52);
      case 'D':
        return BandOfYears(n / 365);
      default:
        break;
    }
  }
  int by, bm, bd, sy, sm, sd;
  if (ParseDate(birth_date, &by, &bm, &bd) && ParseDate(study_date, &sy, &sm, &sd)) {
    int years = sy - by - ((sm < bm || (sm == bm && sd < bd)) ? 1 : 0);
    return BandOfYears(years);
  }
  return "unknown";
}

std::string TextGroup(absl::string_view value) {
  absl::string_view v = absl::StripAsciiWhitespace(value);
  return v.empty() ? "unknown" : std::string(v);
}

}  // namespace tverr::node
