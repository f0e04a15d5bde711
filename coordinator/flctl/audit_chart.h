// Line charts as inline SVG for the audit report: no script, no external
// resources, readable when printed. Pure functions, thread-compatible.
#ifndef TVERR_COORDINATOR_FLCTL_AUDIT_CHART_H_
#define TVERR_COORDINATOR_FLCTL_AUDIT_CHART_H_

#include <string>
#include <utility>
#include <vector>

namespace tverr::flctl {

struct ChartSeries {
  std::string name;   // data-series attribute and legend tooltip
  std::string label;  // legend and point tooltips. Default: "" (the name)
  // (x, y) in data units, in drawing order.
  std::vector<std::pair<double, double>> points;
};

struct LineChartOptions {
  std::string id;         // the <svg> element's id. Default: none.
  std::string css_class;  // added to class="chart". Default: none.
  std::string title;      // accessible title and heading inside the chart
  std::string x_label;    // e.g. "Round"
  std::string y_label;    // e.g. "Accuracy"
  // x values are whole numbers (rounds): ticks on integers only.
  // Default: true.
  bool integer_x = true;
  // y values are fractions shown as percentages ("82.5 %"). Default: true.
  bool percent_y = true;
  // A legend right of the plot, one entry per series. Default: false.
  bool legend = false;
  int width = 760;   // Default: 760 (px, also the viewBox)
  int height = 320;  // Default: 320
};

// Renders an <svg> element with axes, grid, tick labels, axis labels, one
// <polyline class="series"> per series with two or more points, and a
// <circle class="point"> with a <title> tooltip per point. All text is
// HTML-escaped. Empty series are skipped; with no points at all the chart
// still draws its axes.
std::string RenderLineChartSvg(const std::vector<ChartSeries>& series,
                               const LineChartOptions& options);

// The colour of the i-th series (a colour-blind-safe palette, cycled).
std::string SeriesColour(size_t index);

// Escapes & < > " ' for HTML text and attribute values.
std::string HtmlEscape(const std::string& text);

}  // namespace tverr::flctl

#endif  // TVERR_COORDINATOR_FLCTL_AUDIT_CHART_H_
