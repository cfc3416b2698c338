# bench/plot.gp: the duplication times of build/bench/bench.csv as one PNG,
# a row per kernel, a column per page size (4 KiB, THP by PMD, THP by PTEs);
# log-log, median with min..max.
#   gnuplot -e "csv='build/bench/bench.csv'; png='build/bench/bench.png'" bench/plot.gp
# Columns: kernel,section,kind,case,method,size_mib,reps,median_ms,min_ms,
#          max_ms,q1_ms,q3_ms
kernels = system("awk -F, 'NR > 1 && $2 == \"dup\" { print $1 }' " . csv . " | sort -uV | tr '\\n' ' '")
nk = words(kernels)
methods = "cowdup fork memfd uffd-wp memcpy"
# The same colour for a method in every panel, whatever is measured there.
mlt(m) = m eq "cowdup" ? 1 : m eq "fork" ? 2 : m eq "memfd" ? 3 : m eq "uffd-wp" ? 4 : 5
mtitle(m) = m eq "cowdup" ? "cowdup()" : m eq "fork" ? "fork()" : m eq "memfd" ? "memfd: 2nd MAP_PRIVATE + populate" : m eq "uffd-wp" ? "uffd-wp arming" : "mmap + memcpy"
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
		# Only the methods measured for this kind (no memfd by PTEs).
		ms = system(sprintf("awk -F, '$1 == \"%s\" && $2 == \"dup\" && $3 == \"%s\" && $8 > 0 { m[$5] = 1 } END { n = split(\"%s\", all, \" \"); for (j = 1; j <= n; j++) if (all[j] in m) printf \"%%s \", all[j] }' %s", word(kernels, k), word(kinds, i), methods, csv))
		plot for [m in ms] sel(m) using 6:8:9:10 \
			with yerrorlines lt mlt(m) pt 7 ps 0.6 title mtitle(m)
	}
}
unset multiplot
