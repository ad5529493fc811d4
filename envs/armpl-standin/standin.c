/* edgebench's stand-in for one Arm Performance Libraries shared object.
 *
 * The library carries no code of its own: what libmxnet.so needs from it comes from
 * the libraries it was linked against (see install.sh and README.md), which the dynamic
 * loader searches as part of libmxnet.so's dependency tree. This marker only tells
 * `nm -D` and a curious reader what the file is.
 */
const char edgebench_armpl_standin[] = "edgebench stand-in: " EDGEBENCH_STANDIN_FOR;
