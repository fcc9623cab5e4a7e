fn main() {
    process_limits();
    std::process::exit(topo::cli::main());
}

/// Settings of the process itself, before any thread or allocation.
fn process_limits() {
    // One malloc arena: the read-back threads would each get their own,
    // and keep what they freed mapped, raising the peak for nothing.
    // SAFETY: mallopt only tunes the allocator; called before any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    // A big lab holds a file per namespace while it reads them back:
    // raise the soft limit on open files to the hard one, as Go does.
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}
