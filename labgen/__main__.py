from labgen.launch import main

main()
