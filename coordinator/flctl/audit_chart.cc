#include "coordinator/flctl/audit_chart.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tverr::flctl {
namespace {

// Okabe-Ito: distinguishable with the common colour-vision deficiencies.
constexpr const char* kPalette[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00",
                                    "#CC79A7", "#56B4E9", "#000000", "#999933"};
constexpr size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);

constexpr int kMarginLeft = 64;
constexpr int kMarginTop = 40;
constexpr int kMarginBottom = 52;
constexpr int kMarginRightPlain = 24;
constexpr int kMarginRightLegend = 200;
constexpr int kLegendRow = 20;
constexpr size_t kLegendNameChars = 24;

// 1, 2 or 5 times a power of ten, at least `raw`.
double NiceStep(double raw) {
  if (!(raw > 0)) return 1;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / magnitude;
  const double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nice * magnitude;
}

struct Axis {
  double lo = 0;
  double hi = 1;
  double step = 0.2;
};

Axis NiceAxis(double lo, double hi, int target_ticks) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 0.05 : std::abs(lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  Axis a;
  a.step = NiceStep((hi - lo) / target_ticks);
  a.lo = std::floor(lo / a.step + 1e-9) * a.step;
  a.hi = std::ceil(hi / a.step - 1e-9) * a.step;
  if (!(a.hi > a.lo)) a.hi = a.lo + a.step;
  return a;
}

std::string FormatY(double value, double step, bool percent) {
  if (percent) {
    const double p = value * 100;
    return step * 100 >= 1 ? absl::StrFormat("%.0f %%", p) : absl::StrFormat("%.1f %%", p);
  }
  return absl::StrFormat("%g", value);
}

std::string FormatValue(double value, bool percent) {
  return percent ? absl::StrFormat("%.1f %%", value * 100) : absl::StrFormat("%.4g", value);
}

std::string FormatX(double value, bool integer) {
  return integer ? absl::StrFormat("%.0f", value) : absl::StrFormat("%g", value);
}

std::string Num(double v) { return absl::StrFormat("%.1f", v); }

// At most `max_bytes` bytes of `s` (never cutting a UTF-8 sequence), with an
// ellipsis when shortened.
std::string Truncate(const std::string& s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t end = max_bytes - 1;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end) + "\xE2\x80\xA6";  // …
}

// The tick values lo, lo + step, ..., up to hi.
std::vector<double> Ticks(double lo, double hi, double step) {
  std::vector<double> ticks;
  const int n = static_cast<int>(std::floor((hi - lo) / step + 1e-6));
  for (int i = 0; i <= n && i <= 100; ++i) ticks.push_back(lo + step * i);
  return ticks;
}

}  // namespace

std::string SeriesColour(size_t index) { return kPalette[index % kPaletteSize]; }

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderLineChartSvg(const std::vector<ChartSeries>& series,
                               const LineChartOptions& options) {
  double xmin = std::numeric_limits<double>::infinity();
  double xmax = -xmin;
  double ymin = xmin;
  double ymax = -xmin;
  for (const ChartSeries& s : series) {
    for (const auto& [x, y] : s.points) {
      xmin = std::min(xmin, x);
      xmax = std::max(xmax, x);
      ymin = std::min(ymin, y);
      ymax = std::max(ymax, y);
    }
  }
  const bool empty = !(xmax >= xmin);
  if (empty) {
    xmin = 1;
    xmax = 2;
    ymin = 0;
    ymax = 1;
  }
  if (xmax == xmin) {
    xmin -= 1;
    xmax += 1;
  }
  Axis y = NiceAxis(ymin, ymax, /*target_ticks=*/5);
  if (options.percent_y && ymin >= 0 && ymax <= 1) {
    y.lo = std::max(0.0, y.lo);
    y.hi = std::min(1.0, y.hi);
  }
  Axis x;
  x.lo = xmin;
  x.hi = xmax;
  x.step =
      options.integer_x ? std::max(1.0, NiceStep((xmax - xmin) / 10)) : NiceStep((xmax - xmin) / 8);

  const int width = options.width;
  const int margin_right = options.legend ? kMarginRightLegend : kMarginRightPlain;
  const int legend_height =
      options.legend ? kMarginTop + kLegendRow * static_cast<int>(series.size()) + 8 : 0;
  const int height = std::max(options.height, legend_height);
  const double pw = width - kMarginLeft - margin_right;
  const double ph = height - kMarginTop - kMarginBottom;
  auto px = [&](double v) { return kMarginLeft + (v - x.lo) / (x.hi - x.lo) * pw; };
  auto py = [&](double v) { return kMarginTop + ph - (v - y.lo) / (y.hi - y.lo) * ph; };

  const std::string title_id = options.id.empty() ? "" : options.id + "-title";
  std::string svg = absl::StrCat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\"",
      options.id.empty() ? "" : absl::StrCat(" id=\"", HtmlEscape(options.id), "\""),
      " class=\"chart", options.css_class.empty() ? "" : " " + HtmlEscape(options.css_class),
      "\" viewBox=\"0 0 ", width, " ", height, "\" width=\"", width, "\" height=\"", height,
      "\" role=\"img\"",
      title_id.empty() ? "" : absl::StrCat(" aria-labelledby=\"", HtmlEscape(title_id), "\""),
      " font-family=\"system-ui, sans-serif\" font-size=\"12\">\n");
  absl::StrAppend(&svg, "<title", title_id.empty() ? "" : " id=\"" + HtmlEscape(title_id) + "\"",
                  ">", HtmlEscape(options.title), "</title>\n");
  absl::StrAppend(&svg, "<text class=\"chart-title\" x=\"", kMarginLeft,
                  "\" y=\"22\" font-size=\"14\" font-weight=\"600\">", HtmlEscape(options.title),
                  "</text>\n");

  // Grid and y ticks.
  absl::StrAppend(&svg, "<g class=\"grid\" stroke=\"#d9dde3\" stroke-width=\"1\">\n");
  const std::vector<double> y_ticks = Ticks(y.lo, y.hi, y.step);
  for (double v : y_ticks) {
    absl::StrAppend(&svg, "<line x1=\"", kMarginLeft, "\" y1=\"", Num(py(v)), "\" x2=\"",
                    Num(kMarginLeft + pw), "\" y2=\"", Num(py(v)), "\"/>\n");
  }
  absl::StrAppend(&svg, "</g>\n<g class=\"ticks\" fill=\"#333\">\n");
  for (double v : y_ticks) {
    absl::StrAppend(&svg, "<text x=\"", kMarginLeft - 8, "\" y=\"", Num(py(v) + 4),
                    "\" text-anchor=\"end\">", FormatY(v, y.step, options.percent_y), "</text>\n");
  }
  const double x_first = options.integer_x ? std::ceil(x.lo) : x.lo;
  for (double v : Ticks(x_first, x.hi, x.step)) {
    absl::StrAppend(&svg, "<text x=\"", Num(px(v)), "\" y=\"", Num(kMarginTop + ph + 18),
                    "\" text-anchor=\"middle\">", FormatX(v, options.integer_x), "</text>\n");
    absl::StrAppend(&svg, "<line x1=\"", Num(px(v)), "\" y1=\"", Num(kMarginTop + ph), "\" x2=\"",
                    Num(px(v)), "\" y2=\"", Num(kMarginTop + ph + 5), "\" stroke=\"#555\"/>\n");
  }
  absl::StrAppend(&svg, "</g>\n");

  // Axes and their labels.
  absl::StrAppend(&svg, "<g class=\"axes\" stroke=\"#555\" stroke-width=\"1\">\n", "<line x1=\"",
                  kMarginLeft, "\" y1=\"", Num(kMarginTop + ph), "\" x2=\"", Num(kMarginLeft + pw),
                  "\" y2=\"", Num(kMarginTop + ph), "\"/>\n", "<line x1=\"", kMarginLeft,
                  "\" y1=\"", kMarginTop, "\" x2=\"", kMarginLeft, "\" y2=\"", Num(kMarginTop + ph),
                  "\"/>\n</g>\n");
  absl::StrAppend(&svg, "<text class=\"axis-label x-label\" x=\"", Num(kMarginLeft + pw / 2),
                  "\" y=\"", height - 12, "\" text-anchor=\"middle\" fill=\"#333\">",
                  HtmlEscape(options.x_label), "</text>\n");
  absl::StrAppend(&svg, "<text class=\"axis-label y-label\" transform=\"rotate(-90)\" x=\"",
                  Num(-(kMarginTop + ph / 2)), "\" y=\"16\" text-anchor=\"middle\" fill=\"#333\">",
                  HtmlEscape(options.y_label), "</text>\n");
  if (empty) {
    absl::StrAppend(&svg, "<text class=\"no-data\" x=\"", Num(kMarginLeft + pw / 2), "\" y=\"",
                    Num(kMarginTop + ph / 2), "\" text-anchor=\"middle\" fill=\"#777\">",
                    "no data</text>\n");
  }

  // Series.
  for (size_t i = 0; i < series.size(); ++i) {
    const ChartSeries& s = series[i];
    if (s.points.empty()) continue;
    const std::string& label = s.label.empty() ? s.name : s.label;
    const std::string colour = SeriesColour(i);
    const std::string dash = i >= kPaletteSize ? " stroke-dasharray=\"6 3\"" : "";
    absl::StrAppend(&svg, "<g class=\"series-group\" data-series=\"", HtmlEscape(s.name), "\">\n");
    if (s.points.size() >= 2) {
      std::string points;
      for (const auto& [vx, vy] : s.points) {
        absl::StrAppend(&points, points.empty() ? "" : " ", Num(px(vx)), ",", Num(py(vy)));
      }
      absl::StrAppend(&svg, "<polyline class=\"series\" fill=\"none\" stroke=\"", colour,
                      "\" stroke-width=\"2\"", dash, " points=\"", points, "\"/>\n");
    }
    for (const auto& [vx, vy] : s.points) {
      absl::StrAppend(&svg, "<circle class=\"point\" cx=\"", Num(px(vx)), "\" cy=\"", Num(py(vy)),
                      "\" r=\"3.5\" fill=\"", colour, "\"><title>", HtmlEscape(label), ": ",
                      HtmlEscape(options.x_label), " ", FormatX(vx, options.integer_x), ", ",
                      FormatValue(vy, options.percent_y), "</title></circle>\n");
    }
    absl::StrAppend(&svg, "</g>\n");
  }

  if (options.legend) {
    const double lx = kMarginLeft + pw + 16;
    absl::StrAppend(&svg, "<g class=\"legend\">\n");
    for (size_t i = 0; i < series.size(); ++i) {
      const double ly = kMarginTop + 8 + kLegendRow * static_cast<double>(i);
      const std::string dash = i >= kPaletteSize ? " stroke-dasharray=\"6 3\"" : "";
      absl::StrAppend(
          &svg, "<g class=\"legend-item\"><title>", HtmlEscape(series[i].name),
          "</title><line x1=\"", Num(lx), "\" y1=\"", Num(ly), "\" x2=\"", Num(lx + 22), "\" y2=\"",
          Num(ly), "\" stroke=\"", SeriesColour(i), "\" stroke-width=\"3\"", dash, "/><text x=\"",
          Num(lx + 28), "\" y=\"", Num(ly + 4), "\" fill=\"#222\">",
          HtmlEscape(Truncate(series[i].label.empty() ? series[i].name : series[i].label,
                              kLegendNameChars)),
          "</text></g>\n");
    }
    absl::StrAppend(&svg, "</g>\n");
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

}  // namespace tverr::flctl
