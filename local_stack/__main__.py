import sys

from local_stack.supervisor import main

sys.exit(main())
