"""The kernel NFS client's caching rules as labgen_nfsmount keeps them (pure code, a fake clock):
when a second client's change becomes visible to this one, for files and directories, with the
defaults, actimeo, noac, nocto and each lookupcache mode."""

import pytest
from labgen_nfsmount.cache import AttrCache, CacheOptions, parse_mount_options, stamp

from tests.unit.nfsmount.fakes import Clock

FILE, DIR = 0o100644, 0o040755


def attrs(mode=FILE, size=10, mtime=1, ctime=1):
    return {"st_mode": mode, "st_size": size, "st_mtime": mtime, "st_ctime": ctime, "st_uid": 0, "st_gid": 0}


def make(options="") -> tuple[AttrCache, Clock]:
    clock = Clock()
    return AttrCache(parse_mount_options(options), clock), clock


# -- options --------------------------------------------------------------------------------------------


def test_defaults_are_the_kernels():
    o = parse_mount_options("")
    assert (o.acregmin, o.acregmax, o.acdirmin, o.acdirmax) == (3, 60, 30, 60)
    assert o.cto and o.lookupcache == "all" and not o.sync
    assert o == CacheOptions()


def test_actimeo_sets_all_four_and_later_options_win():
    o = parse_mount_options("actimeo=5,acdirmax=7")
    assert (o.acregmin, o.acregmax, o.acdirmin, o.acdirmax) == (5, 5, 5, 7)


def test_noac_is_actimeo_0_and_sync():
    o = parse_mount_options("noac")
    assert (o.acregmin, o.acregmax, o.acdirmin, o.acdirmax) == (0, 0, 0, 0)
    assert o.sync


def test_nocto_and_lookupcache():
    o = parse_mount_options("nocto,lookupcache=positive")
    assert not o.cto and o.lookupcache == "positive"
    assert parse_mount_options("lookupcache=pos").lookupcache == "positive"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("acregmin=-1", "acregmin needs a number of seconds"),
        ("actimeo=x", "actimeo needs a number of seconds"),
        ("acdirmax", "acdirmax needs a number of seconds"),
        ("lookupcache=some", "lookupcache=some: allowed are all, positive, none"),
        ("rsize=4096", "unknown NFS mount option 'rsize=4096': allowed are actimeo=N"),
        ("noac=1", "unknown NFS mount option 'noac=1'"),
    ],
)
def test_bad_options_name_what_is_wrong_and_allowed(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_mount_options(text)


# -- files ---------------------------------------------------------------------------------------------


def test_file_attributes_are_used_for_acregmin_then_asked_again():
    cache, clock = make()
    cache.store("/f", attrs())
    clock.now += 2.9
    assert cache.fresh("/f") == attrs()  # another client's change is not seen yet
    clock.now += 0.2
    assert cache.fresh("/f") is None  # 3 s: the next stat asks the server


def test_unchanged_file_attributes_double_their_timeout_up_to_acregmax():
    cache, clock = make()
    timeouts = []
    cache.store("/f", attrs())
    for _ in range(8):
        start = clock.now
        while cache.fresh("/f") is not None:
            clock.now += 0.5
        timeouts.append(clock.now - start)
        cache.store("/f", attrs())  # revalidated, unchanged
    assert timeouts == [3.0, 6.0, 12.0, 24.0, 48.0, 60.0, 60.0, 60.0]


def test_a_change_resets_the_timeout_to_acregmin():
    cache, clock = make()
    cache.store("/f", attrs())
    cache.store("/f", attrs())  # 6 s now
    cache.store("/f", attrs(size=11, mtime=2))  # changed by the other client
    clock.now += 3.0
    assert cache.fresh("/f") is None


def test_directories_use_acdirmin():
    cache, clock = make()
    cache.store("/d", attrs(mode=DIR))
    clock.now += 29.9
    assert cache.fresh("/d") is not None
    clock.now += 0.2
    assert cache.fresh("/d") is None


def test_actimeo_and_noac():
    cache, clock = make("actimeo=1")
    cache.store("/d", attrs(mode=DIR))
    clock.now += 1.0
    assert cache.fresh("/d") is None
    cache, clock = make("noac")
    cache.store("/f", attrs())
    assert cache.fresh("/f") is None  # every stat asks the server


def test_lookupcache_none_asks_the_server_on_every_lookup():
    cache, _ = make("lookupcache=none")
    cache.store("/f", attrs())
    assert cache.fresh("/f") is None


# -- close-to-open ---------------------------------------------------------------------------------------


def test_open_keeps_cached_data_only_when_the_file_did_not_change():
    cache, _ = make()
    assert not cache.data_valid("/f", attrs())  # first open: nothing cached
    assert cache.data_valid("/f", attrs())  # reopened, unchanged: the kernel keeps its pages
    assert not cache.data_valid("/f", attrs(size=12, mtime=5))  # the other client wrote: dropped
    assert cache.data_valid("/f", attrs(size=12, mtime=5))


def test_our_own_writes_keep_the_data_valid_other_writes_do_not():
    cache, _ = make()
    cache.data_valid("/f", attrs())
    cache.data_written("/f", stamp(attrs(size=20, mtime=3)))
    assert cache.data_valid("/f", attrs(size=20, mtime=3))
    cache.data_written("/f", None)  # truncated by us without knowing the result
    assert not cache.data_valid("/f", attrs(size=20, mtime=3))


def test_rename_carries_the_cached_data_to_the_new_name():
    cache, _ = make()
    cache.data_valid("/d/config.xml", attrs(size=1))
    cache.data_written("/d/atomic.tmp", stamp(attrs(size=5, mtime=9)))
    cache.renamed("/d/atomic.tmp", "/d/config.xml")  # Jenkins' AtomicFileWriter
    assert cache.fresh("/d/config.xml") is None
    assert cache.data_valid("/d/config.xml", attrs(size=5, mtime=9))


# -- negative lookups ----------------------------------------------------------------------------------


def test_missing_name_is_remembered_while_the_directory_is_unchanged():
    cache, _ = make()
    cache.store("/d", attrs(mode=DIR, mtime=1))
    cache.store_missing("/d/new")
    assert cache.missing_parent("/d/new") == "/d"
    assert cache.known_missing("/d/new", attrs(mode=DIR, mtime=1))
    # the other client created it: the directory's mtime changed, the entry goes
    assert not cache.known_missing("/d/new", attrs(mode=DIR, mtime=2))
    assert cache.missing_parent("/d/new") is None


def test_lookupcache_positive_and_none_keep_no_negative_entries():
    for mode in ("positive", "none"):
        cache, _ = make(f"lookupcache={mode}")
        cache.store("/d", attrs(mode=DIR))
        cache.store_missing("/d/new")
        assert cache.missing_parent("/d/new") is None


def test_our_own_create_forgets_the_negative_entry_and_the_directory():
    cache, _ = make()
    cache.store("/d", attrs(mode=DIR))
    cache.store_missing("/d/new")
    cache.changed("/d/new")
    assert cache.missing_parent("/d/new") is None
    assert cache.fresh("/d") is None


# -- directory listings ----------------------------------------------------------------------------------


def test_listing_is_used_while_the_directory_is_unchanged():
    cache, _ = make()
    d = attrs(mode=DIR, mtime=1)
    cache.store_listing("/jobs", ["a", "b"], d)
    assert cache.listing("/jobs", d) == ["a", "b"]
    assert cache.listing("/jobs", attrs(mode=DIR, mtime=2)) is None  # a job was created elsewhere


def test_removing_a_tree_forgets_everything_under_it():
    cache, _ = make()
    cache.store("/jobs", attrs(mode=DIR))
    cache.store("/jobs/a", attrs(mode=DIR))
    cache.store("/jobs/a/config.xml", attrs())
    cache.store_listing("/jobs/a", ["config.xml"], attrs(mode=DIR))
    cache.changed_tree("/jobs/a")
    assert cache.fresh("/jobs/a/config.xml") is None
    assert cache.fresh("/jobs/a") is None
    assert cache.fresh("/jobs") is None
    assert cache.listing("/jobs/a", attrs(mode=DIR)) is None


def test_removing_a_tree_finds_entries_whose_directories_were_never_cached():
    cache, _ = make()
    cache.data_written("/jobs/a/builds/7/log", stamp(attrs(size=3)))  # nothing cached of /jobs/a or below
    cache.store("/jobs/a/builds/7/build.xml", attrs())
    cache.store("/jobs/ab/config.xml", attrs())  # a sibling whose name starts the same
    cache.changed_tree("/jobs/a")
    assert cache.fresh("/jobs/a/builds/7/build.xml") is None
    assert not cache.data_valid("/jobs/a/builds/7/log", attrs(size=3))
    assert cache.fresh("/jobs/ab/config.xml") is not None


def test_renaming_a_directory_carries_the_data_under_it_and_forgets_the_rest():
    cache, _ = make()
    after = stamp(attrs(size=4, mtime=7))
    cache.data_written("/jobs/old/config.xml", after)
    cache.remember_content("/jobs/old/config.xml", after, b"<a/>")
    cache.store("/jobs/old/nextBuildNumber", attrs())
    cache.store("/jobs/new/stale.xml", attrs())  # what the replaced target held
    cache.store("/jobs/other/config.xml", attrs())
    cache.renamed("/jobs/old", "/jobs/new")
    assert cache.data_valid("/jobs/new/config.xml", attrs(size=4, mtime=7, ctime=8))
    assert cache.content("/jobs/new/config.xml") == b"<a/>"
    assert cache.content("/jobs/old/config.xml") is None
    assert cache.fresh("/jobs/old/nextBuildNumber") is None and cache.fresh("/jobs/new/stale.xml") is None
    assert cache.fresh("/jobs/other/config.xml") is not None
    cache.renamed("/jobs/new", "/jobs/again")  # what a rename carried is found again by the next one
    assert cache.content("/jobs/again/config.xml") == b"<a/>"


# -- what this mount wrote (the tail pages FUSE does not keep) ---------------------------------------------


def test_written_content_is_served_while_the_data_is_unchanged():
    cache, _ = make()
    after = stamp(attrs(size=4, mtime=7))
    cache.data_written("/d/.x.tmp", after)
    cache.remember_content("/d/.x.tmp", after, b"<a/>")
    cache.renamed("/d/.x.tmp", "/d/config.xml")
    assert cache.data_valid("/d/config.xml", attrs(size=4, mtime=7, ctime=8))  # a rename changes ctime only
    assert cache.content("/d/config.xml") == b"<a/>"
    # the other master replaced it: the next open judges the data changed, the content goes
    assert not cache.data_valid("/d/config.xml", attrs(size=4, mtime=9))
    assert cache.content("/d/config.xml") is None


def test_written_content_is_bounded():
    from labgen_nfsmount import cache as cache_module

    cache, _ = make()
    big = b"x" * (cache_module.CONTENT_MAX_FILE + 1)
    cache.remember_content("/big", stamp(attrs(size=len(big))), big)
    assert cache.content("/big") is None
    piece = b"y" * cache_module.CONTENT_MAX_FILE
    for i in range(cache_module.CONTENT_MAX_TOTAL // len(piece) + 3):
        after = stamp(attrs(size=len(piece), mtime=i))
        cache.data_written(f"/f{i}", after)
        cache.remember_content(f"/f{i}", after, piece)
    assert cache.content("/f0") is None  # the oldest went first
    assert cache.content(f"/f{i}") == piece
