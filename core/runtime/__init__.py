"""Infrastructure every stage of the pipeline uses: the device choice, the progress protocol,
background jobs, prefetching, the cache folders, file hashes and atomic writes."""
