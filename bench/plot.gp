# bench/plot.gp: the duplication times of build/bench/bench.csv as one PNG,
# a row per kernel, a column per page size (4 KiB, THP by PMD, THP by PTEs);
# log-log, median with min..max.
#   gnuplot -e "csv='build/bench/bench.csv'; png='build/bench/bench.png'" bench/plot.gp
# Columns: kernel,section,kind,case,method,size_mib,reps,median_ms,min_ms,
#          max_ms,q1_ms,q3_ms
kernels = system("awk -F, 'NR > 1 && $2 == \"dup\" { print $1 }' " . csv . " | sort -uV | tr '\\n' ' '")
nk = words(kernels)
methods = "cowdup fork memfd uffd-wp memcpy"
mtitle(m) = m == 1 ? "cowdup()" : m == 2 ? "fork()" : m == 3 ? "memfd: 2nd MAP_PRIVATE + populate" : m == 4 ? "uffd-wp arming" : "mmap + memcpy"
kinds = "4k thp thp-pte"
kindtitle(i) = (i == 1 ? "4 KiB pages" : i == 2 ? "transparent huge pages" : "THPs mapped by PTEs")

set terminal pngcairo noenhanced size 2000, 520 * nk font ",10"
set output png
set datafile separator ","
set logscale xy
set xlabel "region size (MiB)"
set ylabel "time (ms), median with min..max"
set xrange [12:2800]
set xtics (16, 64, 256, 1024, 2048)
set grid xtics ytics mytics
set key top left
set style data linespoints
set bars small
set multiplot layout nk, 3 title "Duplicating a populated private anonymous region (TCG VM: compare ratios, not absolute times)"
do for [k = 1:nk] {
	do for [i = 1:words(kinds)] {
		set title sprintf("Linux %s, %s", word(kernels, k), kindtitle(i))
		sel(m) = sprintf("< awk -F, '$1 == \"%s\" && $2 == \"dup\" && $3 == \"%s\" && $5 == \"%s\" && $8 > 0' %s", word(kernels, k), word(kinds, i), m, csv)
		plot for [m = 1:words(methods)] sel(word(methods, m)) using 6:8:9:10 \
			with yerrorlines pt 7 ps 0.6 title mtitle(m)
	}
}
unset multiplot
