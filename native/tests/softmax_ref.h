// softmax(x / t) in double: the distribution the sampling tests compare draw frequencies with.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

inline std::vector<double> softmax_ref(const std::vector<float>& x, float t) {
  std::vector<double> p(x.size());
  double mx = -1e30, sum = 0;
  for (float v : x) mx = std::max(mx, double(v) / t);
  for (size_t i = 0; i < x.size(); ++i) sum += p[i] = std::exp(double(x[i]) / t - mx);
  for (double& v : p) v /= sum;
  return p;
}
