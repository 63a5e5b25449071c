"""What the benchmarks and the tests share: ``localsite`` (a loopback HTTP site with scripted
faults), ``musicgen`` (songs rendered from MIDI with their ground truth), ``clicks`` (clicks at
random places inside hops, and the onset delays they show), ``ports`` (a free loopback port)."""
