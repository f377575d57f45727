from distill_bench import main

raise SystemExit(main())
