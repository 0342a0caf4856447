# bash completion for nnlab: commands, each command's options, shipped model,
# model file (.nnm), dataset, optimizer, schedule and format names, files and
# directories where an option takes one. Installed as share/bash-completion/completions/nnlab; to try it
# from the source tree: source completion/nnlab.bash
#
# A command's options are read from its --help (the option column: lines that
# start with spaces and a dash), so options added later complete too; the
# lists below are used when that program cannot be run.

_nnlab_workloads="mnist mnist-keras-paper cifar10 cifar10-keras-paper vgg-cifar10"
_nnlab_datasets="mnist fashion-mnist kmnist cifar10 cifar100 cifar100-coarse"

_nnlab() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local commands="train eval models predict data stats bench"
    COMPREPLY=()
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return 0
    fi
    local cmd=${COMP_WORDS[1]} i
    # after `nnlab stats ... --`: complete the command to watch
    if [ "$cmd" = stats ]; then
        for ((i = 2; i < COMP_CWORD; i++)); do
            if [ "${COMP_WORDS[i]}" = "--" ]; then
                if [ "$i" -eq $((COMP_CWORD - 1)) ]; then
                    COMPREPLY=($(compgen -c -- "$cur"))
                else
                    compopt -o filenames 2>/dev/null
                    COMPREPLY=($(compgen -f -- "$cur"))
                fi
                return 0
            fi
        done
    fi
    case "$prev" in
    --data | --out | --save-steps)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -d -- "$cur"))
        return 0
        ;;
    --save | --save-init | --save-every-epoch | --resume | --step-log | --events | --model | \
        --output | --plot | --contestants-file | --train-data | --test-data | --hostfile)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
        return 0
        ;;
    --dataset)
        COMPREPLY=($(compgen -W "$_nnlab_datasets" -- "$cur"))
        return 0
        ;;
    --optimizer)
        COMPREPLY=($(compgen -W "adam adamw sgd" -- "$cur"))
        return 0
        ;;
    --schedule)
        COMPREPLY=($(compgen -W "constant step cosine" -- "$cur"))
        return 0
        ;;
    --peer-device)
        COMPREPLY=($(compgen -W "cpu cuda" -- "$cur"))
        return 0
        ;;
    --format)
        COMPREPLY=($(compgen -W "csv pretty jsonl json unixstats-csv unixstats-pretty" -- "$cur"))
        return 0
        ;;
    --submission-division)
        COMPREPLY=($(compgen -W "open closed" -- "$cur"))
        return 0
        ;;
    --workloads)
        # a comma-separated list: complete its last item
        local head=${cur%,*} last=${cur##*,} w
        [ "$head" = "$cur" ] && head="" || head="$head,"
        compopt -o nospace 2>/dev/null
        for w in $(compgen -W "$_nnlab_workloads" -- "$last") $(compgen -f -X '!*.nnm' -- "$last"); do
            COMPREPLY+=("$head$w")
        done
        return 0
        ;;
    --load-command)
        COMPREPLY=($(compgen -c -- "$cur"))
        return 0
        ;;
    --name)
        COMPREPLY=($(compgen -c -- "$cur"))
        return 0
        ;;
    --epochs | --batch | --lr | --weight-decay | --momentum | --seed | --threads | --limit | \
        --dropout | --submission-org | --submission-platform | --submission-status | --runs | \
        --contestants | --warmup | --baseline | --timeout | --wait-idle | --max-other-load | \
        --retries | --interval | --duration | --pid | --beta1 | --beta2 | --eps | --step-size | \
        --gamma | --label | --val-split | --load | --threshold)
        return 0 # a value of the user's
        ;;
    esac
    local opts words="" filepats="" compare=0 p
    case "$cmd" in
    train)
        opts="--data --offline --dataset --epochs --batch --lr --optimizer --weight-decay
              --momentum --beta1 --beta2 --eps --schedule --warmup --step-size --gamma --seed
              --threads --limit --save --save-init --save-every-epoch --resume --no-shuffle
              --dropout --step-log --save-steps --events --submission-org --submission-platform
              --submission-division --submission-status --json --sync-bn --quiet --help
              --train-data --test-data --label --val-split"
        words=$_nnlab_workloads
        filepats=nnm
        ;;
    eval) opts="--model --data --dataset --threads --json --help" ;;
    models)
        opts="--help"
        words=$_nnlab_workloads
        filepats=nnm
        ;;
    predict)
        opts="--model --output --batch --label --threads --help"
        filepats="csv npz" # INPUT
        ;;
    data)
        opts="--data --force --offline --strict --quick --quiet --help"
        if [ "$COMP_CWORD" -eq 2 ]; then
            words="list fetch verify path"
        else
            words=$_nnlab_datasets
        fi
        ;;
    stats)
        opts="--pid --name --wait --no-children --interval --duration --pss --no-gpu --format
              --output --plot --quiet --help --"
        ;;
    bench)
        opts="--runs --workloads --contestants --contestants-file --list --epochs --threads
              --ranks --hostfile --limit --data --dataset --train-data --test-data --label --peer-device --out
              --warmup --baseline --seed --timeout --wait-idle --max-other-load --retries --load
              --load-command --paper --help"
        for ((i = 2; i < COMP_CWORD; i++)); do
            [ "${COMP_WORDS[i]}" = compare ] && break
        done
        if [ "$i" -lt "$COMP_CWORD" ]; then
            # bench compare DIR_A DIR_B [--threshold PCT]
            opts="--threshold" compare=1
            compopt -o filenames 2>/dev/null
            words=$(compgen -d -- "$cur")
        elif [ "$COMP_CWORD" -eq 2 ]; then
            words=compare
        fi
        ;;
    *) return 0 ;;
    esac
    if [[ "$cur" == -* ]]; then
        local from_help=""
        # bench compare's one option is not in the option column of bench --help
        [ "$compare" = 1 ] || from_help=$("${COMP_WORDS[0]}" "$cmd" --help 2>/dev/null |
            sed -nE 's/^ +((-[a-zA-Z], )?--[^ ].*)$/\1/p' | sed -E 's/  .*//' |
            grep -oE -- '--[a-z][a-z0-9-]*')
        if [ -n "$from_help" ]; then
            opts=$from_help
            [ "$cmd" = stats ] && opts="$opts --"
        fi
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        if [ -n "$filepats" ]; then
            # files a positional argument takes (a model file of your own, a
            # predict INPUT), and directories to reach one
            compopt -o filenames 2>/dev/null
            for p in $filepats; do # file name endings
                COMPREPLY+=($(compgen -f -X "!*.$p" -- "$cur"))
            done
            [ -n "$cur" ] && COMPREPLY+=($(compgen -d -- "$cur"))
        fi
    fi
    return 0
}
complete -F _nnlab nnlab
