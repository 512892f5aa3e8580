# gnuplot script of `make bench` (called by tests/bench/run.sh):
#   gnuplot -e "dir='<scratch dir>'; out='<results prefix>'; pods=N; term='pngcairo'" plot.gp
# Inputs (written by run.sh): scale-ADD.dat, scale-DEL.dat ("pod weft_ms ref_ms floor_ms"),
# dp.dat ("path median min max" in Gbit/s). A missing input skips its plot.
if (!exists("term")) term = 'pngcairo'
set terminal term size 1000,560 font ",10"
set grid
set key top left

if (exists("pods") && pods > 0) {
	set output out . '-scale-add.png'
	set title sprintf("bridge ADD, wall time of each pod's ADD vs pods already on the bridge (%d sequential pods)", pods)
	set xlabel 'pod number (pods on the bridge)'
	set ylabel 'ADD wall time, ms (log)'
	set logscale y
	plot dir.'/scale-ADD.dat' u 1:3 w p pt 7 ps 0.45 lc rgb '#d95f02' t 'reference bridge + host-local', \
	     ''                 u 1:2 w p pt 7 ps 0.45 lc rgb '#1b9e77' t 'weft bridge', \
	     ''                 u 1:4 w p pt 7 ps 0.45 lc rgb '#7570b3' t 'kernel floor: ip link add veth + ip link set master up'
	set output out . '-scale-del.png'
	set title 'bridge DEL, wall time of each pod (deleted in the order they were added)'
	set xlabel 'pod number'
	set ylabel 'DEL wall time, ms (log)'
	plot dir.'/scale-DEL.dat' u 1:3 w p pt 7 ps 0.45 lc rgb '#d95f02' t 'reference bridge', \
	     ''                 u 1:2 w p pt 7 ps 0.45 lc rgb '#1b9e77' t 'weft bridge', \
	     ''                 u 1:4 w p pt 7 ps 0.45 lc rgb '#7570b3' t 'kernel floor: ip link del'
	unset logscale y
}

if (exists("dp") && dp > 0) {
	set output out . '-datapath.png'
	set title 'pod A to pod B, one iperf3 TCP stream, both ends on one CPU: median and min-max over the rounds'
	set xlabel ''
	set ylabel 'Gbit/s'
	set yrange [0:*]
	set style fill solid 0.6
	set boxwidth 0.6
	set xtics rotate by -30
	unset key
	plot dir.'/dp.dat' u 0:2:xtic(1) w boxes lc rgb '#1b9e77', \
	     ''           u 0:2:3:4 w yerrorbars pt 0 lc rgb 'black'
}
