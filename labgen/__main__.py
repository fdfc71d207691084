from labgen.cli import main

main()
